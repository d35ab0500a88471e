// Non-float element types and symbolic shapes, on the small models of Fixtures (built in memory).

namespace ModelGen.OnnxRuntime.Tests;

public class TypeRoundTripTests
{
    [Fact]
    public void MixedTypes_Int64AddEqualBoolNotAndDoubleCast()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.MixedTypes);
        Assert.Equal(["a", "b", "mask", "x"], session.Inputs.Select(i => i.Name));
        Assert.Equal(
            [OrtElementType.Int64, OrtElementType.Bool, OrtElementType.Bool, OrtElementType.Double],
            session.Outputs.Select(o => o.ElementType));

        long[] a = [1, -2, 3, long.MaxValue - 1, 5, 6];
        long[] b = [1, 2, 3, 1, -5, 0];
        // Given out of graph order: inputs are matched by name.
        OrtTensor[] outputs = session.Run(
        [
            OrtTensor.Float("x", [1.5f, -0.25f, 3e30f, float.Epsilon], 4),
            OrtTensor.Bool("mask", [true, false, false, true], 4),
            OrtTensor.Int64("b", b, 2, 3),
            OrtTensor.Int64("a", a, 2, 3),
        ]);

        Assert.Equal(["sum", "equal", "not_mask", "x_double"], outputs.Select(o => o.Name));
        Assert.Equal([2L, 0, 6, long.MaxValue, 0, 6], outputs[0].GetData<long>());
        Assert.Equal([2L, 3], outputs[0].Shape);
        Assert.Equal([true, false, true, false, false, false], outputs[1].GetData<bool>());
        Assert.Equal([false, true, true, false], outputs[2].GetData<bool>());
        Assert.Equal([1.5, -0.25, (double)3e30f, (double)float.Epsilon], outputs[3].GetData<double>());
        Assert.Equal(OrtElementType.Double, outputs[3].ElementType);
    }

    [Fact]
    public void Identity_RoundTripsEverySupportedElementType()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.IdentityAllTypes);
        OrtTensor[] inputs =
        [
            OrtTensor.Float("in_float", [1.5f, -2f, float.MaxValue], 3),
            OrtTensor.Double("in_double", [Math.PI, -1e300, double.Epsilon], 3),
            OrtTensor.Float16("in_float16", [(Half)0.5f, Half.MinValue, Half.Epsilon], 3),
            OrtTensor.Int8("in_int8", [sbyte.MinValue, -1, sbyte.MaxValue], 3),
            OrtTensor.UInt8("in_uint8", [0, 128, byte.MaxValue], 3),
            OrtTensor.Int16("in_int16", [short.MinValue, -1, short.MaxValue], 3),
            OrtTensor.UInt16("in_uint16", [0, 40000, ushort.MaxValue], 3),
            OrtTensor.Int32("in_int32", [int.MinValue, -1, int.MaxValue], 3),
            OrtTensor.UInt32("in_uint32", [0, 3_000_000_000, uint.MaxValue], 3),
            OrtTensor.Int64("in_int64", [long.MinValue, -1, long.MaxValue], 3),
            OrtTensor.UInt64("in_uint64", [0, 1UL << 63, ulong.MaxValue], 3),
            OrtTensor.Bool("in_bool", [true, false, true], 3),
        ];

        OrtTensor[] outputs = session.Run(inputs);

        Assert.Equal(inputs.Length, outputs.Length);
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i].Name.Replace("in_", "out_"), outputs[i].Name);
            Assert.Equal(inputs[i].ElementType, outputs[i].ElementType);
            Assert.Equal(session.Outputs[i].ElementType, outputs[i].ElementType);
            Assert.Equal([3L], outputs[i].Shape);
            Assert.Equal(inputs[i].Data.GetType(), outputs[i].Data.GetType());
            Assert.Equal(inputs[i].Data.Cast<object>(), outputs[i].Data.Cast<object>());
            Assert.NotSame(inputs[i].Data, outputs[i].Data);
        }
    }

    [Fact]
    public void SymbolicDimensions_AreReportedAndResolvedAtRunTime()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.DynamicRelu);
        OrtTensorInfo input = Assert.Single(session.Inputs);
        Assert.Equal([-1L, 4], input.Shape);
        Assert.Equal(2, input.SymbolicDimensions.Length);
        Assert.Equal("batch", input.SymbolicDimensions[0]);
        Assert.Null(input.SymbolicDimensions[1]);
        Assert.Equal("x: Float[batchx4]", input.ToString());

        OrtTensor y = Assert.Single(session.Run([OrtTensor.Float("x", [-1, 2, -3, 4, 5, -6, 7, -8], 2, 4)]));
        Assert.Equal([2L, 4], y.Shape);
        Assert.Equal([0f, 4, 0, 8, 10, 0, 14, 0], y.GetData<float>());
    }

    [Fact]
    public void Tensor_RejectsMismatchedDataOrShape()
    {
        Assert.Throws<ArgumentException>(() => OrtTensor.Float("x", [1f, 2f, 3f], 2, 2));
        Assert.Throws<ArgumentException>(() => new OrtTensor("x", OrtElementType.Int64, [2], new int[2]));
        Assert.Throws<ArgumentException>(() => new OrtTensor("x", OrtElementType.String, [1], new string[1]));
        Assert.Throws<InvalidCastException>(() => OrtTensor.Float("x", [1f], 1).GetData<double>());
        Assert.Equal([], OrtTensor.Float("scalar", [7f]).Shape);
    }
}
