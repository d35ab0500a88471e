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
        var producers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, OnnxNodeProto n) in NamedNodes(OnnxParser.ParseModel(File.ReadAllBytes(path))))
            foreach (string o in n.Outputs) if (o.Length > 0) producers.TryAdd(o, name);
        return producers;
    }

    /// <summary>The operator type of every node of the graph, by its name as <see cref="ProducerNames"/> gives it.</summary>
    public static IReadOnlyDictionary<string, string> NodeOps(string path)
    {
        var ops = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, OnnxNodeProto n) in NamedNodes(OnnxParser.ParseModel(File.ReadAllBytes(path)))) ops.TryAdd(name, n.OpType);
        return ops;
    }

    /// <summary>
    /// The weight geometry of every Conv node whose weights are an initializer, by its name as <see cref="ProducerNames"/>
    /// gives it: output channels, input channels per group, kernel height and width (the weight's dims), groups and the
    /// largest stride.
    /// </summary>
    public static IReadOnlyDictionary<string, ConvShape> ConvShapes(string path)
    {
        OnnxModelProto model = OnnxParser.ParseModel(File.ReadAllBytes(path));
        var shapes = new Dictionary<string, ConvShape>(StringComparer.Ordinal);
        var dims = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        foreach (OnnxTensorProto t in model.Graph?.Initializers ?? new List<OnnxTensorProto>()) dims.TryAdd(t.Name, t.Dims);
        foreach ((string name, OnnxNodeProto n) in NamedNodes(model))
        {
            if (n.OpType != "Conv" || n.Domain.Length != 0 || n.Inputs.Count < 2 || !dims.TryGetValue(n.Inputs[1], out List<long>? w) || w.Count != 4) continue;
            long group = n.Attributes.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            List<long>? strides = n.Attributes.FirstOrDefault(a => a.Name == "strides")?.Ints;
            int stride = strides is { Count: > 0 } ? (int)strides.Max() : 1;
            shapes.TryAdd(name, new ConvShape((int)w[0], (int)w[1], (int)w[2], (int)w[3], (int)group, stride));
        }
        return shapes;
    }

    /// <summary>The graph's nodes with their names: their own, or ONNX Runtime's <c>{op}_{index in the graph}</c> for an unnamed one.</summary>
    private static IEnumerable<(string Name, OnnxNodeProto Node)> NamedNodes(OnnxModelProto model)
    {
        if (model.Graph is null) yield break;
        for (int i = 0; i < model.Graph.Nodes.Count; i++)
        {
            OnnxNodeProto n = model.Graph.Nodes[i];
            yield return (n.Name.Length > 0 ? n.Name : $"{n.OpType}_{i}", n);
        }
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

/// <summary>A Conv node's weight geometry: output channels, input channels per group, kernel height and width, groups, and its largest stride.</summary>
public sealed record ConvShape(int OutChannels, int InChannelsPerGroup, int KernelH, int KernelW, int Group, int Stride);
