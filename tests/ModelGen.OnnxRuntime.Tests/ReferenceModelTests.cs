// Runs ONNX Runtime on the shared model-zoo models and compares with their reference outputs.

namespace ModelGen.OnnxRuntime.Tests;

public class ReferenceModelTests
{
    // ORT's kernels (MLAS GEMM/conv, fused ops, FMA) sum in a different order than the
    // implementation that produced output_0.pb, so float32 results differ in the last bits and
    // the rounding accumulates over hundreds of multiply-adds per output. 1e-4 absolute plus 1e-4
    // relative absorbs that reordering noise, while a real bug (wrong op, layout or binding) is
    // off by orders of magnitude more.
    private const double Atol = 1e-4;
    private const double Rtol = 1e-4;

    // SqueezeNet's reference output was not produced by ONNX Runtime, and ORT 1.23 differs from it
    // by up to 1.3e-4 on two of its largest probabilities (~0.1, i.e. 1.3e-3 relative) at every
    // optimization level, Disabled included, so 1e-4/1e-4 fails on the reference data itself.
    // ONNX's own backend test suite compares the model-zoo models, squeezenet included, with
    // rtol 1e-3 (onnx/backend/test/case/model/__init__.py); we keep atol 1e-4 and use that rtol.
    private const double SqueezeNetRtol = 1e-3;

    [Fact]
    public void Mnist8_MatchesReferenceOutput()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(TestFiles.Model("mnist-8.onnx"));
        var input = OnnxTestData.Read(TestFiles.Model("mnist-8", "test_data_set_0", "input_0.pb"));
        var expected = OnnxTestData.Read(TestFiles.Model("mnist-8", "test_data_set_0", "output_0.pb"));

        OrtTensorInfo inputInfo = Assert.Single(session.Inputs);
        Assert.Equal("Input3", inputInfo.Name);
        Assert.Equal([1, 1, 28, 28], inputInfo.Shape);

        OrtTensor output = Assert.Single(session.Run([TestFiles.FloatInput(inputInfo.Name, input)]));
        Assert.Equal("Plus214_Output_0", output.Name);
        Assert.Equal(OrtElementType.Float, output.ElementType);
        Assert.Equal(TestFiles.Dims(expected), output.Shape);
        TestFiles.AllClose(expected.Floats, output.GetData<float>(), Atol, Rtol);
    }

    [Fact]
    public void SqueezeNet11_ReportsInputAndOutputInfo()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(TestFiles.Model("squeezenet1.1.onnx"));

        OrtTensorInfo input = Assert.Single(session.Inputs);
        Assert.Equal("data_0", input.Name);
        Assert.Equal(OrtElementType.Float, input.ElementType);
        Assert.Equal([1, 3, 224, 224], input.Shape);
        Assert.All(input.SymbolicDimensions, Assert.Null);

        OrtTensorInfo output = Assert.Single(session.Outputs);
        Assert.Equal(OrtElementType.Float, output.ElementType);
        Assert.Equal([1, 1000, 1, 1], output.Shape);
    }

    [Fact]
    public void SqueezeNet11_MatchesReferenceOutput()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(TestFiles.Model("squeezenet1.1.onnx"));
        var input = OnnxTestData.Read(TestFiles.Model("squeezenet1.1", "test_data_set_0", "input_0.pb"));
        var expected = OnnxTestData.Read(TestFiles.Model("squeezenet1.1", "test_data_set_0", "output_0.pb"));

        // The .pb tensor names do not match the graph's, so bind by position.
        OrtTensor output = Assert.Single(session.Run([TestFiles.FloatInput(session.Inputs[0].Name, input)]));
        Assert.Equal(session.Outputs[0].Name, output.Name);
        Assert.Equal(TestFiles.Dims(expected), output.Shape);
        TestFiles.AllClose(expected.Floats, output.GetData<float>(), Atol, SqueezeNetRtol);
    }
}
