// Licensed under the MIT license.
// Pass 2: orders nodes so every input is defined before use (ONNX requires it, exporters sometimes do not), keeping
// the file order among independent nodes. Undefined inputs and cycles are reported.

using System.Collections.Generic;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Ir;

namespace ModelGen.Generator.Passes;

internal static class TopologicalSort
{
    public static bool Run(Graph graph, DiagnosticBag diagnostics)
    {
        var index = new Dictionary<Node, int>();
        for (int i = 0; i < graph.Nodes.Count; i++) index[graph.Nodes[i]] = i;

        var pending = new Dictionary<Node, int>();
        var ready = new SortedSet<int>();
        foreach (Node node in graph.Nodes)
        {
            var producers = new HashSet<Node>();
            foreach (Value? input in node.Inputs)
            {
                if (input is null) continue;
                if (input.Producer is not null)
                {
                    producers.Add(input.Producer);
                }
                else if (input.Constant is null && !input.IsGraphInput)
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidNode, node.Name, node.OpType,
                        $"input '{input.Name}' is not produced by any node, initializer or graph input");
                    return false;
                }
            }
            pending[node] = producers.Count;
            if (producers.Count == 0) ready.Add(index[node]);
        }

        var order = new List<Node>(graph.Nodes.Count);
        while (ready.Count > 0)
        {
            int i = ready.Min;
            ready.Remove(i);
            Node node = graph.Nodes[i];
            order.Add(node);
            var done = new HashSet<Node>();
            foreach (Value output in node.Outputs)
            {
                foreach (Node consumer in output.Consumers)
                {
                    // A consumer reading several outputs of this node (or one twice) counts this producer once.
                    if (!done.Add(consumer)) continue;
                    if (--pending[consumer] == 0) ready.Add(index[consumer]);
                }
            }
        }
        if (order.Count != graph.Nodes.Count)
        {
            foreach (Node node in graph.Nodes)
            {
                if (!order.Contains(node))
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidNode, node.Name, node.OpType, "it is part of a cycle");
                    return false;
                }
            }
        }
        graph.Nodes.Clear();
        graph.Nodes.AddRange(order);

        foreach (Value output in graph.Outputs)
        {
            if (output.Producer is null && output.Constant is null && !output.IsGraphInput)
            {
                diagnostics.Report(DiagnosticDescriptors.MalformedModel, System.IO.Path.GetFileName(diagnostics.FilePath),
                    $"graph output '{output.Name}' is not produced by any node");
                return false;
            }
        }
        return true;
    }
}
