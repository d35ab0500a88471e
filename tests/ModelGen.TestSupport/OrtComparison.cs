// Licensed under the MIT license.
// Runs a generated model and ONNX Runtime on the same seeded random inputs and compares every output element-wise.

using ModelGen.OnnxRuntime;
using ModelGen.Runtime;

namespace ModelGen.TestSupport;

public static class OrtComparison
{
    /// <summary>Seeded uniform inputs in [lo, hi).</summary>
    public static float[] RandomInput(int count, int seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = lo + (float)rng.NextDouble() * (hi - lo);
        return data;
    }

    /// <summary>Reference outputs from ONNX Runtime (all graph optimisations, one thread).</summary>
    public static float[][] RunOrt(string modelPath, IReadOnlyList<TensorInfo> inputs, IReadOnlyList<float[]> data)
    {
        if (!OrtLibrary.TryLoad(out string? error)) throw new InvalidOperationException("ONNX Runtime is not available: " + error);
        using var session = new OrtSession(modelPath, new OrtSessionOptions { IntraOpThreads = 1 });
        var tensors = new List<OrtTensor>();
        for (int i = 0; i < inputs.Count; i++)
        {
            tensors.Add(OrtTensor.Float(inputs[i].Name, data[i], inputs[i].Shape.Select(d => (long)d).ToArray()));
        }
        return session.Run(tensors).Select(t => t.GetData<float>()).ToArray();
    }

    /// <summary>Runs the compiled model on <paramref name="data"/> and returns its outputs.</summary>
    public static float[][] RunCompiled(ICompiledModel model, IReadOnlyList<float[]> data)
    {
        float[][] outputs = model.Outputs.Select(o => new float[o.ElementCount]).ToArray();
        model.Run(data.Select(d => (ReadOnlyMemory<float>)d).ToArray(), outputs.Select(o => (Memory<float>)o).ToArray());
        return outputs;
    }

    /// <summary>Compares a compiled model with ONNX Runtime; returns null on success or the failure report.</summary>
    public static string? Compare(string modelPath, ICompiledModel model, Tolerance tolerance, int seed, float lo = -1f, float hi = 1f)
    {
        var data = model.Inputs.Select((t, i) => RandomInput(t.ElementCount, seed + i, lo, hi)).ToList();
        float[][] expected = RunOrt(modelPath, model.Inputs, data);
        float[][] actual = RunCompiled(model, data);
        if (expected.Length != actual.Length) return $"ONNX Runtime returned {expected.Length} outputs, the compiled model {actual.Length}";
        var errors = new List<string>();
        for (int i = 0; i < actual.Length; i++)
        {
            string? e = tolerance.Compare(actual[i], expected[i], $"{Path.GetFileName(modelPath)} output {model.Outputs[i].Name}");
            if (e is not null) errors.Add(e);
        }
        return errors.Count == 0 ? null : string.Join("\n", errors);
    }
}
