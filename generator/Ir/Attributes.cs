// Licensed under the MIT license.
// Typed access to a node's attributes; records which ones an op read so unknown ones can be rejected.

using System.Collections.Generic;
using System.Text;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Ir;

/// <summary>Thrown by op handlers for a node that violates the spec; reported as MG0101 by the caller.</summary>
internal sealed class InvalidNodeException : System.Exception
{
    public InvalidNodeException(string message) : base(message) { }
}

/// <summary>Thrown by op handlers for a valid node ModelGen cannot compile yet; reported as MG0100 by the caller.</summary>
internal sealed class UnsupportedNodeException : System.Exception
{
    public UnsupportedNodeException(string message) : base(message) { }
}

internal sealed class Attributes
{
    private readonly Dictionary<string, OnnxAttributeProto> _byName = new();

    public Attributes(List<OnnxAttributeProto> attributes)
    {
        foreach (OnnxAttributeProto a in attributes) _byName[a.Name] = a;
    }

    public IEnumerable<string> Names => _byName.Keys;

    public bool Has(string name) => _byName.ContainsKey(name);

    public OnnxAttributeProto? Get(string name) => _byName.TryGetValue(name, out var a) ? a : null;

    public void Set(OnnxAttributeProto attribute) => _byName[attribute.Name] = attribute;

    public void Remove(string name) => _byName.Remove(name);

    public long GetInt(string name, long defaultValue)
    {
        var a = Get(name);
        if (a is null) return defaultValue;
        Check(a, OnnxAttributeType.Int);
        return a.I;
    }

    public float GetFloat(string name, float defaultValue)
    {
        var a = Get(name);
        if (a is null) return defaultValue;
        Check(a, OnnxAttributeType.Float);
        return a.F;
    }

    public string GetString(string name, string defaultValue)
    {
        var a = Get(name);
        if (a is null) return defaultValue;
        Check(a, OnnxAttributeType.String);
        return Encoding.UTF8.GetString(a.S);
    }

    public long[]? GetInts(string name)
    {
        var a = Get(name);
        if (a is null) return null;
        Check(a, OnnxAttributeType.Ints);
        return a.Ints.ToArray();
    }

    public float[]? GetFloats(string name)
    {
        var a = Get(name);
        if (a is null) return null;
        Check(a, OnnxAttributeType.Floats);
        return a.Floats.ToArray();
    }

    public OnnxTensorProto? GetTensor(string name)
    {
        var a = Get(name);
        if (a is null) return null;
        Check(a, OnnxAttributeType.Tensor);
        return a.T;
    }

    /// <summary>Rejects attributes the op does not define (a typo or a newer opset ModelGen does not know).</summary>
    public void RejectUnknown(params string[] known)
    {
        foreach (string name in _byName.Keys)
        {
            if (System.Array.IndexOf(known, name) < 0)
                throw new UnsupportedNodeException($"attribute '{name}' is not supported");
        }
    }

    private static void Check(OnnxAttributeProto a, OnnxAttributeType expected)
    {
        if (a.RefAttrName.Length > 0)
            throw new UnsupportedNodeException($"attribute '{a.Name}' refers to a function attribute ('{a.RefAttrName}')");
        OnnxAttributeType t = a.EffectiveType;
        // An INTS/FLOATS attribute written as an empty list has no payload to infer from.
        if (t == OnnxAttributeType.Undefined && expected is OnnxAttributeType.Ints or OnnxAttributeType.Floats) return;
        if (t != expected)
            throw new InvalidNodeException($"attribute '{a.Name}' must be {expected}, found {t}");
    }
}
