// Licensed under the MIT license.
// Pass 3: static shape inference and build-time constant folding, node by node in topological order. Shape-only
// subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) fold to constants here, so every tensor ends up with a
// static shape. A node ModelGen cannot compile is recorded (MG0100) and everything downstream of it is skipped.

using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Ops;

namespace ModelGen.Generator.Passes;

internal static class ShapeInference
{
    /// <summary>Returns the nodes that could not be compiled (already reported).</summary>
    public static List<string> Run(Graph graph, DiagnosticBag diagnostics, System.Threading.CancellationToken ct)
    {
        var unsupported = new List<string>();
        var ctx = new InferContext(graph);
        var blocked = new HashSet<Value>();
        foreach (Node node in graph.Nodes)
        {
            ct.ThrowIfCancellationRequested();
            bool inputsKnown = true;
            foreach (Value? input in node.Inputs)
            {
                if (input is not null && (blocked.Contains(input) || (input.Shape is null && input.Constant is null)))
                {
                    inputsKnown = false;
                }
            }

            // Unknown ops are reported even downstream of another unsupported node: users get the whole list in one build.
            OpHandler? handler = OpRegistry.Find(node.Domain, node.OpType);
            string? unsupportedReason = null;
            if (handler is null)
            {
                unsupportedReason = node.Domain.Length > 0 ? $" (domain '{node.Domain}')" : "";
            }
            else if (node.Opset < handler.MinOpset || node.Opset > handler.MaxOpset)
            {
                unsupportedReason = $" (supported opsets {handler.MinOpset} to {handler.MaxOpset})";
            }
            else if (!inputsKnown)
            {
                // A known op whose inputs could not be inferred (downstream of an unsupported node): nothing to check.
                foreach (Value output in node.Outputs) blocked.Add(output);
                continue;
            }
            else
            {
                try
                {
                    handler.Infer(node, ctx);
                    Constant[]? folded = handler.Fold(node, ctx);
                    if (folded is not null)
                    {
                        for (int i = 0; i < folded.Length && i < node.Outputs.Count; i++)
                        {
                            node.Outputs[i].Constant = folded[i];
                            node.Outputs[i].Shape = folded[i].Shape;
                            node.Outputs[i].Type = folded[i].Type;
                        }
                    }
                    foreach (Value output in node.Outputs)
                    {
                        if (output.Shape is null && output.Constant is null)
                            throw new InvalidNodeException($"output '{output.Name}' got no shape");
                    }
                    continue;
                }
                catch (UnsupportedNodeException e)
                {
                    unsupportedReason = ": " + e.Message;
                }
                catch (InvalidNodeException e)
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidNode, node.Name, node.OpType, e.Message);
                }
                catch (RuntimeDependentShapeException e)
                {
                    diagnostics.Report(DiagnosticDescriptors.RuntimeDependentShape, node.Name, node.OpType, e.InputName);
                }
                catch (TensorTooLargeException e)
                {
                    diagnostics.Report(DiagnosticDescriptors.TensorTooLarge, e.Tensor, e.Elements, "2^31 - 1 elements");
                }
            }
            if (unsupportedReason is not null)
            {
                diagnostics.Report(DiagnosticDescriptors.UnsupportedOperator, node.Name, node.OpType,
                    node.Opset.ToString(CultureInfo.InvariantCulture), unsupportedReason);
                unsupported.Add(Describe(node));
            }
            foreach (Value output in node.Outputs) blocked.Add(output);
        }
        return unsupported;
    }

    public static string Describe(Node node) =>
        $"{node.OpType} '{node.Name}' (opset {node.Opset.ToString(CultureInfo.InvariantCulture)})";
}
