// Licensed under the MIT license.
// The mutable intermediate representation the passes work on: values, nodes and the graph. Faithful to ONNX: every
// attribute is kept; targets decide what they support. Lives only inside one generator step (never cached).

using System.Collections.Generic;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Ir;

/// <summary>A tensor-valued edge of the graph. Its shape is static once shape inference has run.</summary>
internal sealed class Value
{
    public Value(string name) => Name = name;

    public string Name { get; }
    public OnnxDataType Type { get; set; }
    /// <summary>Static shape (null until inferred, or when unknown).</summary>
    public int[]? Shape { get; set; }
    /// <summary>Build-time constant (initializer, Constant node, folded subgraph, or a construction-time recipe).</summary>
    public Constant? Constant { get; set; }
    public Node? Producer { get; set; }
    public List<Node> Consumers { get; } = new();
    public int GraphInputIndex { get; set; } = -1;
    public List<int> GraphOutputIndices { get; } = new();
    /// <summary>
    /// Stored channel-blocked, [N][C/16][H][W][16] (Passes/BlockedLayout), instead of NCHW: only between kernels that read
    /// and write that layout; never a graph input or output.
    /// </summary>
    public bool Blocked { get; set; }

    public bool IsGraphInput => GraphInputIndex >= 0;
    public bool IsGraphOutput => GraphOutputIndices.Count > 0;
    public bool IsConstant => Constant is not null;
    public long ElementCount => Shape is null ? -1 : Shapes.Product(Shape);

    public override string ToString() => Name + (Shape is null ? "" : Shapes.Format(Shape));
}

/// <summary>One ONNX node. Optional inputs that are absent are null entries.</summary>
internal sealed class Node
{
    public Node(string name, string opType, string domain, int opset)
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Opset = opset;
    }

    public string Name { get; set; }
    public string OpType { get; set; }
    public string Domain { get; }
    /// <summary>The opset version imported for this node's domain.</summary>
    public int Opset { get; }
    public List<Value?> Inputs { get; } = new();
    public List<Value> Outputs { get; } = new();
    public Attributes Attributes { get; set; } = new(new List<OnnxAttributeProto>());
    /// <summary>Set by fusion passes: an activation applied to the output (kernel epilogue).</summary>
    public Activation? FusedActivation { get; set; }
    /// <summary>Names of the nodes folded into this one (for the generated comments).</summary>
    public List<string> FusedNodes { get; } = new();
    /// <summary>The ONNX names of the nodes folded into this one, in order (the per-layer report maps ONNX Runtime's nodes by them).</summary>
    public List<string> FusedNodeNames { get; } = new();

    /// <summary>Records nodes folded into this one: their label for the remarks and their ONNX names.</summary>
    public void Absorbed(string label, params string[] names)
    {
        FusedNodes.Add(label);
        FusedNodeNames.AddRange(names);
    }

    public Value? Input(int i) => i < Inputs.Count ? Inputs[i] : null;

    public string Describe() => $"{OpType} '{Name}'";

    public override string ToString() => Describe();
}

/// <summary>The whole model graph plus the bytes its constants point into.</summary>
internal sealed class Graph
{
    public Graph(byte[] modelBytes) => ModelBytes = modelBytes;

    public byte[] ModelBytes { get; }
    public List<Node> Nodes { get; } = new();
    public List<Value> Inputs { get; } = new();
    public List<Value> Outputs { get; } = new();
    public Dictionary<string, Value> Values { get; } = new();
    public long IrVersion { get; set; }
    public string Producer { get; set; } = "";
    public Dictionary<string, int> Opsets { get; } = new();

    public Value GetOrAddValue(string name)
    {
        if (!Values.TryGetValue(name, out Value? v))
        {
            v = new Value(name);
            Values.Add(name, v);
        }
        return v;
    }

    /// <summary>Creates a value with a name no other value uses.</summary>
    public Value NewValue(string hint)
    {
        string name = hint;
        for (int i = 1; Values.ContainsKey(name); i++) name = hint + "_" + i;
        return GetOrAddValue(name);
    }

    /// <summary>Removes a node, detaching it from its inputs' consumer lists.</summary>
    public void RemoveNode(Node node)
    {
        Nodes.Remove(node);
        foreach (Value? input in node.Inputs) input?.Consumers.Remove(node);
        foreach (Value output in node.Outputs)
        {
            if (output.Producer == node) output.Producer = null;
        }
    }

    /// <summary>Makes every consumer of <paramref name="from"/> (and the graph outputs) use <paramref name="to"/>.</summary>
    public void ReplaceAllUses(Value from, Value to)
    {
        foreach (Node consumer in from.Consumers)
        {
            for (int i = 0; i < consumer.Inputs.Count; i++)
            {
                if (consumer.Inputs[i] == from) consumer.Inputs[i] = to;
            }
            if (!to.Consumers.Contains(consumer)) to.Consumers.Add(consumer);
        }
        from.Consumers.Clear();
        for (int i = 0; i < Outputs.Count; i++)
        {
            if (Outputs[i] == from)
            {
                Outputs[i] = to;
                to.GraphOutputIndices.Add(i);
            }
        }
        from.GraphOutputIndices.Clear();
    }
}
