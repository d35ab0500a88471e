// OrtPreparedRun: same results as OrtSession.Run, and no managed allocation per call.

namespace ModelGen.OnnxRuntime.Tests;

public class PreparedRunTests
{
    [Fact]
    public void Mnist8_PreparedRunMatchesRunAndAllocatesNothing()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(TestFiles.Model("mnist-8.onnx"));
        var input = OnnxTestData.Read(TestFiles.Model("mnist-8", "test_data_set_0", "input_0.pb"));
        OrtTensor[] inputs = [TestFiles.FloatInput("Input3", input)];
        float[] expected = session.Run(inputs)[0].GetData<float>();

        using OrtPreparedRun run = session.Prepare(inputs);
        Assert.Equal(1, run.OutputCount);
        Assert.Equal([1L, 10], run.OutputShape(0).ToArray());
        for (int i = 0; i < 5; i++)
            run.Run();   // warm-up: JIT, ORT's first-run allocations

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
            run.Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(expected, run.Output(0).ToArray());
    }

    [Fact]
    public void PreparedRun_SeesInPlaceInputChangesAndResolvesSymbolicOutputShapes()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.DynamicRelu);
        float[] x = [-1, 2, -3, 4, 5, -6, 7, -8, 9, 10, 11, 12];

        using OrtPreparedRun run = session.Prepare([OrtTensor.Float("x", x, 3, 4)]);
        Assert.Equal([3L, 4], run.OutputShape(0).ToArray());
        run.Run();
        Assert.Equal(session.Run([OrtTensor.Float("x", x, 3, 4)])[0].GetData<float>(), run.Output(0).ToArray());

        x[0] = 100;
        run.Run();
        Assert.Equal(200f, run.Output(0)[0]);
    }

    [Fact]
    public void PreparedRun_RejectsNonFloatTensors()
    {
        TestFiles.RequireOrt();
        using var mixed = new OrtSession(Fixtures.MixedTypes);
        Assert.Throws<ArgumentException>(() => mixed.Prepare(
        [
            OrtTensor.Int64("a", new long[6], 2, 3), OrtTensor.Int64("b", new long[6], 2, 3),
            OrtTensor.Bool("mask", new bool[4], 4), OrtTensor.Float("x", new float[4], 4),
        ]));
    }

    [Fact]
    public void PreparedRun_AfterDispose_ThrowsObjectDisposedException()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.DynamicRelu);
        OrtPreparedRun run = session.Prepare([OrtTensor.Float("x", new float[4], 1, 4)]);
        run.Dispose();
        Assert.Throws<ObjectDisposedException>(run.Run);
    }
}
