// Licensed under the MIT license.
// Reads ONNX backend-test data (serialized TensorProto .pb files) with the generator's own protobuf reader.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;

namespace ModelGen.TestSupport;

/// <summary>A tensor read from a .pb file.</summary>
public sealed record TestTensor(string Name, int DataType, int[] Shape, float[]? Floats, long[]? Longs);

public static class OnnxTestData
{
    /// <summary>Reads a TensorProto file (float types as float32, integer/bool types as int64).</summary>
    public static TestTensor Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Test data file is missing: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        OnnxTensorProto t = OnnxParser.ParseTensorFile(bytes);
        Constant c = Constant.FromTensorProto(t, bytes, $"tensor in {path}");
        bool isFloat = c.IsFloatType;
        return new TestTensor(t.Name, (int)t.DataType, c.Shape, isFloat ? c.ToFloats(bytes) : null, isFloat ? null : c.ToLongs(bytes));
    }

    /// <summary>The inputs and outputs of a test_data_set folder, in file order (input_0, input_1, ...).</summary>
    public static (List<TestTensor> Inputs, List<TestTensor> Outputs) ReadSet(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Test data folder is missing: {folder}");
        List<TestTensor> Load(string prefix) => Directory.GetFiles(folder, prefix + "_*.pb")
            .OrderBy(p => int.Parse(Path.GetFileNameWithoutExtension(p).Substring(prefix.Length + 1), System.Globalization.CultureInfo.InvariantCulture))
            .Select(Read).ToList();
        return (Load("input"), Load("output"));
    }
}
