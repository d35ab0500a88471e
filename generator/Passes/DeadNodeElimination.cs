// Licensed under the MIT license.
// Pass 4: removes nodes whose outputs were folded to constants or are never used (ONNX Runtime does the same).

using System.Linq;
using ModelGen.Generator.Ir;

namespace ModelGen.Generator.Passes;

internal static class DeadNodeElimination
{
    public static void Run(Graph graph)
    {
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            Node node = graph.Nodes[i];
            bool needed = node.Outputs.Any(o => o.Constant is null && (o.IsGraphOutput || o.Consumers.Count > 0));
            if (!needed) graph.RemoveNode(node);
        }
    }
}
