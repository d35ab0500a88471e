// Locates the shared reference models, builds the small fixture models in memory, and makes missing files fail loudly.

namespace ModelGen.OnnxRuntime.Tests;

internal static class TestFiles
{
    /// <summary>The full path of a shared model file or folder under ../shared/models; fails the test if it does not exist.</summary>
    public static string Model(params string[] parts)
    {
        string path = Path.Combine([Paths.SharedModels, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            Assert.Fail($"Required test file is missing: {path}");
        return path;
    }

    /// <summary>Fails the test unless ONNX Runtime loads.</summary>
    public static void RequireOrt()
    {
        if (!OrtLibrary.TryLoad(out string? error))
            Assert.Fail(error);
    }

    /// <summary>A float tensor of a test_data_set .pb file as an ORT input named <paramref name="name"/>.</summary>
    public static OrtTensor FloatInput(string name, TestTensor t) => OrtTensor.Float(name, t.Floats!, Dims(t));

    /// <summary>The dimensions of a test tensor as ORT reports them.</summary>
    public static long[] Dims(TestTensor t) => Array.ConvertAll(t.Shape, d => (long)d);

    /// <summary>Asserts |a - r| &lt;= atol + rtol * |r| element-wise.</summary>
    public static void AllClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol) =>
        Assert.Null(new Tolerance(atol, rtol).Compare(actual, expected, "output"));
}

/// <summary>The small models of the non-float and symbolic-shape tests, built in memory (opset 17, IR 8).</summary>
internal static class Fixtures
{
    /// <summary>y = Relu(x) * 2 with a symbolic batch dimension: x, y are float ["batch", 4].</summary>
    public static byte[] DynamicRelu { get; } = Build(b => b
        .Input("x", "batch", 4)
        .Output("y", "batch", 4)
        .Initializer(OnnxTensor.Floats("two", [], [2f]))
        .Node("Relu", ["x"], ["r"])
        .Node("Mul", ["r", "two"], ["y"]));

    /// <summary>int64 Add, int64 Equal → bool, bool Not, float → double Cast (outputs in this order).</summary>
    public static byte[] MixedTypes { get; } = Build(b => b
        .TypedInput("a", OrtElementType.Int64, 2, 3)
        .TypedInput("b", OrtElementType.Int64, 2, 3)
        .TypedInput("mask", OrtElementType.Bool, 4)
        .TypedInput("x", OrtElementType.Float, 4)
        .TypedOutput("sum", OrtElementType.Int64, 2, 3)
        .TypedOutput("equal", OrtElementType.Bool, 2, 3)
        .TypedOutput("not_mask", OrtElementType.Bool, 4)
        .TypedOutput("x_double", OrtElementType.Double, 4)
        .Node("Add", ["a", "b"], ["sum"])
        .Node("Equal", ["a", "b"], ["equal"])
        .Node("Not", ["mask"], ["not_mask"])
        .Node("Cast", ["x"], ["x_double"], attributes: OnnxAttribute.Int("to", (long)OrtElementType.Double)));

    /// <summary>The element types of <see cref="IdentityAllTypes"/>, in input and output order.</summary>
    public static readonly (string Name, OrtElementType Type)[] IdentityTypes =
    [
        ("float", OrtElementType.Float), ("double", OrtElementType.Double), ("float16", OrtElementType.Float16),
        ("int8", OrtElementType.Int8), ("uint8", OrtElementType.UInt8), ("int16", OrtElementType.Int16),
        ("uint16", OrtElementType.UInt16), ("int32", OrtElementType.Int32), ("uint32", OrtElementType.UInt32),
        ("int64", OrtElementType.Int64), ("uint64", OrtElementType.UInt64), ("bool", OrtElementType.Bool),
    ];

    /// <summary>One Identity per element type: in_&lt;type&gt; → out_&lt;type&gt;, shape [3].</summary>
    public static byte[] IdentityAllTypes { get; } = Build(b =>
    {
        foreach ((string name, OrtElementType type) in IdentityTypes)
            b.TypedInput("in_" + name, type, 3).TypedOutput("out_" + name, type, 3).Node("Identity", ["in_" + name], ["out_" + name]);
        return b;
    });

    private static byte[] Build(Func<OnnxBuilder, OnnxBuilder> body) =>
        body(new OnnxBuilder { ProducerName = "ModelGen.OnnxRuntime.Tests" }.Opset("", 17)).ToBytes();
}
