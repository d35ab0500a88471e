// Licensed under the MIT license.
// Pass 7: lowering. Each node's handler emits layers for the target profile; graph outputs are bound to the user's
// buffers (producers write straight into them); the memory planner places the rest in the arena; the result is the
// equatable ModelSpec.

using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Generator.Common;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Ops;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class Lowering
{
    public static LoweringContext? Run(Graph graph, TargetProfile profile, List<string> unsupported, DiagnosticBag diagnostics, System.Threading.CancellationToken ct)
    {
        var ctx = new LoweringContext(graph, profile);
        foreach (Value input in graph.Inputs) ctx.Tensor(input);
        foreach (Node node in graph.Nodes)
        {
            ct.ThrowIfCancellationRequested();
            OpHandler handler = OpRegistry.Find(node.Domain, node.OpType)!;
            // A node whose outputs are all empty (a zero-sized axis) computes nothing.
            if (node.Outputs.Count > 0 && node.Outputs.TrueForAll(o => o.Constant is null && o.Shape is not null && Shapes.Product(o.Shape) == 0)) continue;
            try
            {
                handler.Lower(node, ctx);
            }
            catch (UnsupportedNodeException e)
            {
                diagnostics.Report(DiagnosticDescriptors.UnsupportedOperator, node.Name, node.OpType,
                    node.Opset.ToString(CultureInfo.InvariantCulture), $" for profile '{profile.Name}': {e.Message}");
                unsupported.Add(ShapeInference.Describe(node));
            }
            catch (InvalidNodeException e)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidNode, node.Name, node.OpType, e.Message);
            }
        }
        if (diagnostics.HasErrors || unsupported.Count > 0) return ctx;
        BindOutputs(graph, ctx);
        RingFusion.Run(ctx);
        return ctx;
    }

    /// <summary>
    /// Graph outputs: the producing layer writes into the user's output buffer directly. When the value is a constant, a
    /// graph input, or already bound to another output, a copy layer fills the buffer instead.
    /// </summary>
    private static void BindOutputs(Graph graph, LoweringContext ctx)
    {
        for (int j = 0; j < graph.Outputs.Count; j++)
        {
            Value v = graph.Outputs[j];
            if (v.Constant is null)
            {
                int t = ctx.Tensor(v);
                LoweringContext.TensorBuilder tb = ctx.Tensors[t];
                if (tb.Location == TensorLocation.Arena && tb.ViewOf < 0)
                {
                    tb.Location = TensorLocation.Output;
                    tb.IoIndex = j;
                    continue;
                }
            }
            int dst = ctx.NewTensor(v.Name + ":output", v.Type, v.Shape!);
            ctx.Tensors[dst].Location = TensorLocation.Output;
            ctx.Tensors[dst].IoIndex = j;
            ctx.AddLayer("Copy", v.Name, new CopySpec(Shapes.Product(v.Shape!) * Constant.ElementSize(v.Type)),
                new[] { ctx.In("X", v), new Operand("Y", OperandKind.Tensor, dst, Writes: true) },
                new[] { $"copies '{v.Name}' {Shapes.Format(v.Shape!)} into graph output {j}" });
        }
    }

    /// <summary>Builds the spec: IO descriptions, memory plan and everything lowering produced.</summary>
    public static ModelSpec BuildSpec(Graph graph, LoweringContext? ctx, ModelRequest request, string className, string ns,
        byte[] bytes, List<string> unsupported)
    {
        // The typed Run declares locals in0.., out0.. and calls Execute: parameters derived from tensor names must not
        // take those names (found by RobustnessTests: inputs named "in0"/"in1" gave CS0136 in the generated Run).
        var usedParams = new HashSet<string> { "Execute" };
        for (int i = 0; i < graph.Inputs.Count; i++) usedParams.Add("in" + i.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < graph.Outputs.Count; i++) usedParams.Add("out" + i.ToString(CultureInfo.InvariantCulture));
        var usedConsts = new HashSet<string>();
        IoSpec MakeIo(Value v, int tensorId)
        {
            int[] shape = v.Shape ?? new int[0];
            string ident = Identifiers.Unique(Identifiers.Sanitize(v.Name), usedParams);
            string constPrefix = Identifiers.Unique(Identifiers.PascalCase(v.Name), usedConsts);
            return new IoSpec(v.Name, ident, constPrefix, shape.ToEquatableArray(), tensorId, v.Type.ToString());
        }

        bool runnable = ctx is not null && unsupported.Count == 0;
        var inputs = graph.Inputs.Select(v => MakeIo(v, runnable ? ctx!.Tensor(v) : -1)).ToList();
        var outputs = new List<IoSpec>();
        for (int j = 0; j < graph.Outputs.Count; j++)
        {
            int id = -1;
            if (runnable) id = ctx!.Tensors.First(t => t.Location == TensorLocation.Output && t.IoIndex == j).Id;
            outputs.Add(MakeIo(graph.Outputs[j], id));
        }
        long arena = runnable ? MemoryPlanner.Plan(ctx!) : 0;

        string opsets = string.Join(", ", graph.Opsets.OrderBy(kv => kv.Key, System.StringComparer.Ordinal)
            .Select(kv => (kv.Key.Length == 0 ? "ai.onnx" : kv.Key) + ":" + kv.Value.ToString(CultureInfo.InvariantCulture)));
        return new ModelSpec
        {
            ClassName = className,
            Namespace = ns,
            Profile = ctx?.Profile.Name ?? request.Profile,
            ModelFileName = request.FileName,
            ResourceName = request.ResourceName.Length > 0 ? request.ResourceName : "ModelGen." + request.FileName,
            ModelFileLength = bytes.LongLength,
            ModelHash = Hashing.Fnv1a64(bytes, 0, bytes.Length).ToString("x16", CultureInfo.InvariantCulture),
            Producer = graph.Producer,
            Opsets = opsets,
            Inputs = inputs.ToEquatableArray(),
            Outputs = outputs.ToEquatableArray(),
            Tensors = runnable
                ? ctx!.Tensors.Select(t => new TensorSpec(t.Id, t.Name, t.Type.ToString(), t.Shape.ToEquatableArray(), t.Location, t.Offset, t.IoIndex)).ToEquatableArray()
                : EquatableArray<TensorSpec>.Empty,
            Weights = runnable ? ctx!.Weights.ToEquatableArray() : EquatableArray<WeightSpec>.Empty,
            Layers = runnable ? ctx!.Layers.ToEquatableArray() : EquatableArray<LayerSpec>.Empty,
            ArenaBytes = arena,
            PackedWeightBytes = runnable ? ctx!.PackedWeightBytes : 0,
            UnsupportedNodes = unsupported.ToEquatableArray(),
        };
    }
}
