// Licensed under the MIT license.
// The node names of an ONNX model's graph as ONNX Runtime's profiler reports them, for putting its per-node timings
// beside the generated layers (bench --layers).

using ModelGen.Generator.Onnx;

namespace ModelGen.TestSupport;

public static class OnnxGraphInfo
{
    /// <summary>
    /// The producing node of every value the graph's nodes output, by value name: the node's name, or for an unnamed
    /// node ONNX Runtime's name for it, <c>{op}_{index in the graph}</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ProducerNames(string path)
    {
        OnnxModelProto model = OnnxParser.ParseModel(File.ReadAllBytes(path));
        var producers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (model.Graph is null) return producers;
        for (int i = 0; i < model.Graph.Nodes.Count; i++)
        {
            OnnxNodeProto n = model.Graph.Nodes[i];
            string name = n.Name.Length > 0 ? n.Name : $"{n.OpType}_{i}";
            foreach (string o in n.Outputs) if (o.Length > 0) producers.TryAdd(o, name);
        }
        return producers;
    }

    /// <summary>
    /// The name ONNX Runtime gives a node the generator named <c>{op}#{index} -&gt; {output}</c> (an unnamed node):
    /// <c>{op}_{index}</c>; other names unchanged.
    /// </summary>
    public static string OrtName(string generatorNodeName)
    {
        int hash = generatorNodeName.IndexOf('#');
        if (hash <= 0) return generatorNodeName;
        int end = generatorNodeName.IndexOf(' ', hash);
        string index = end < 0 ? generatorNodeName.Substring(hash + 1) : generatorNodeName.Substring(hash + 1, end - hash - 1);
        return index.Length > 0 && index.All(char.IsDigit) ? generatorNodeName.Substring(0, hash) + "_" + index : generatorNodeName;
    }
}
