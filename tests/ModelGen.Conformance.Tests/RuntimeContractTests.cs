// Licensed under the MIT license.
// The generated class's contract: buffer validation, no allocation per Run, independent instances on several threads,
// repeatable results, Dispose.

using ModelGen.Runtime;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class RuntimeContractTests : IClassFixture<RuntimeContractTests.Squeezenet>
{
    /// <summary>One compiled squeezenet assembly shared by the tests of this class.</summary>
    public sealed class Squeezenet : IDisposable
    {
        public Squeezenet()
        {
            Run = GeneratorHarness.Run(Paths.SharedModel("squeezenet1.1.onnx"));
            Assembly = Run.Load();
        }

        public GeneratorRun Run { get; }
        public LoadedAssembly Assembly { get; }

        public ICompiledModel Create() => Assembly.Create("TestApp.Squeezenet11");

        public ICompiledModel Create(int degreeOfParallelism) => Assembly.Create("TestApp.Squeezenet11", degreeOfParallelism);

        public ICompiledModel Create(int degreeOfParallelism, TimeSpan workerSpin) => Assembly.Create("TestApp.Squeezenet11", degreeOfParallelism, workerSpin);

        public void Dispose() => Assembly.Dispose();
    }

    private readonly Squeezenet _fixture;

    public RuntimeContractTests(Squeezenet fixture) => _fixture = fixture;

    [Fact]
    public void Wrong_buffer_lengths_throw_ArgumentException_naming_the_tensor_and_sizes()
    {
        using ICompiledModel model = _fixture.Create();
        var input = new float[model.Inputs[0].ElementCount];
        var output = new float[model.Outputs[0].ElementCount];
        var e = Assert.Throws<ArgumentException>(() => model.Run(new ReadOnlyMemory<float>[] { input.AsMemory(1) }, new Memory<float>[] { output }));
        Assert.Contains("data_0", e.Message);
        Assert.Contains(model.Inputs[0].ElementCount.ToString(), e.Message);
        Assert.Contains((model.Inputs[0].ElementCount - 1).ToString(), e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Run(new ReadOnlyMemory<float>[] { input }, new Memory<float>[] { new float[7] }));
        Assert.Contains("softmaxout_1", e.Message);
        Assert.Contains("7", e.Message);
        Assert.Throws<ArgumentException>(() => model.Run(ReadOnlySpan<ReadOnlyMemory<float>>.Empty, new Memory<float>[] { output }));
        Assert.Throws<ArgumentException>(() => model.Run(new ReadOnlyMemory<float>[] { input }, new Memory<float>[] { output, output }));
    }

    [Fact]
    public void Profiled_runs_name_each_layers_onnx_nodes_and_time_every_layer()
    {
        using var model = (IProfiledModel)_fixture.Create();
        int layers = model.LayerNames.Count;
        Assert.Equal(layers, model.LayerMacs.Count);
        Assert.Equal(layers, model.LayerNodes.Count);
        // SqueezeNet's nodes are unnamed: the generator names them "{op}#{index} -> {output}", ONNX Runtime "{op}_{index}".
        // The stem: the convolution, its Relu, and the max pool fused with it (Passes/RingFusion).
        Assert.Equal(new[] { "Conv#0 -> conv1_1", "Relu#1 -> conv1_2", "MaxPool#2 -> pool1_1" }, model.LayerNodes[0]);
        Assert.Equal("Conv_0", OnnxGraphInfo.OrtName(model.LayerNodes[0][0]));
        Assert.Equal("conv_named", OnnxGraphInfo.OrtName("conv_named"));
        Assert.All(model.LayerNodes, nodes => Assert.NotEmpty(nodes));
        // Every convolution has its Relu fused.
        Assert.All(model.LayerNodes.Where(n => n[0].StartsWith("Conv#", StringComparison.Ordinal)), n => Assert.StartsWith("Relu#", n[1]));
        var input = new byte[model.Inputs[0].ByteCount];
        var output = new byte[model.Outputs[0].ByteCount];
        var ticks = new long[layers];
        model.RunProfiled(new ReadOnlyMemory<byte>[] { input }, new Memory<byte>[] { output }, ticks);
        Assert.All(ticks, t => Assert.True(t >= 0));
        Assert.True(ticks.Sum() > 0);
    }

    [Fact]
    public void Tensor_info_and_constants_describe_the_model()
    {
        using ICompiledModel model = _fixture.Create();
        Assert.Equal("data_0", model.Inputs[0].Name);
        Assert.Equal(new[] { 1, 3, 224, 224 }, model.Inputs[0].Shape);
        Assert.Equal(1 * 3 * 224 * 224, model.Inputs[0].ElementCount);
        Assert.Equal(new[] { 1, 1000, 1, 1 }, model.Outputs[0].Shape);
        Type type = model.GetType();
        Assert.Equal(150528, (int)type.GetField("Data0ElementCount")!.GetRawConstantValue()!);
        Assert.Equal(1000, (int)type.GetField("Softmaxout1ElementCount")!.GetRawConstantValue()!);
        Assert.True((long)type.GetField("ActivationBytes")!.GetRawConstantValue()! > 0);
    }

    [Fact]
    public void Run_allocates_nothing()
    {
        using ICompiledModel model = _fixture.Create();
        float[] input = OrtComparison.RandomInput(model.Inputs[0].ElementCount, 7);
        var output = new float[model.Outputs[0].ElementCount];
        var inputs = new ReadOnlyMemory<float>[] { input };
        var outputs = new Memory<float>[] { output };
        Assert.Equal(0, SteadyStateAllocation(() => model.Run(inputs, outputs)));
    }

    /// <summary>
    /// Bytes the calling thread allocates over 5 calls once warmed up: the fewest of up to 5 measurements, so that the
    /// runtime's own one-off work while the kernels tier up (seen once in a full parallel test run: 4096 bytes) is not
    /// charged to Run, while a Run that allocates fails every measurement.
    /// </summary>
    private static long SteadyStateAllocation(Action run)
    {
        for (int i = 0; i < 3; i++) run();
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 5 && fewest > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }

    [Fact]
    public void Parallel_Run_allocates_nothing()
    {
        using ICompiledModel model = _fixture.Create(degreeOfParallelism: 2);
        Assert.True((int)model.GetType().GetField("ParallelLayerCount")!.GetRawConstantValue()! > 0);
        float[] input = OrtComparison.RandomInput(model.Inputs[0].ElementCount, 7);
        var inputs = new ReadOnlyMemory<float>[] { input };
        var outputs = new Memory<float>[] { new float[model.Outputs[0].ElementCount] };
        Assert.Equal(0, SteadyStateAllocation(() => model.Run(inputs, outputs)));
    }

    [Fact]
    public void Degree_of_parallelism_below_one_is_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _fixture.Create(degreeOfParallelism: 0));
        Assert.Equal("degreeOfParallelism", e.ParamName);
    }

    [Fact]
    public void Negative_worker_spin_is_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _fixture.Create(degreeOfParallelism: 2, workerSpin: TimeSpan.FromMilliseconds(-1)));
        Assert.Equal("workerSpin", e.ParamName);
    }

    /// <summary>
    /// Workers that block at once (zero spin) are woken for every parallel layer, and ones that spin past the gap between
    /// inferences are not; both give the single-threaded results bit for bit, over runs separated by idle time.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(50)]
    public void Worker_spin_time_does_not_change_results(int spinMilliseconds)
    {
        float[] input = OrtComparison.RandomInput(150528, 31);
        float[] expected;
        using (ICompiledModel single = _fixture.Create()) expected = OrtComparison.RunCompiled(single, new[] { input })[0];
        using ICompiledModel model = _fixture.Create(degreeOfParallelism: 2, workerSpin: TimeSpan.FromMilliseconds(spinMilliseconds));
        for (int repeat = 0; repeat < 3; repeat++)
        {
            Assert.Equal(expected, OrtComparison.RunCompiled(model, new[] { input })[0]);
            Thread.Sleep(5);
        }
    }

    /// <summary>Several instances run concurrently, each on its own thread; with <paramref name="parallel"/> each also has its
    /// own workers (degrees 2, 3, 4...), so more threads than cores share the machine.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Instances_on_several_threads_give_the_single_threaded_results(bool parallel)
    {
        int threads = parallel ? 3 : 4;
        float[][] inputs = Enumerable.Range(0, threads).Select(i => OrtComparison.RandomInput(150528, 100 + i)).ToArray();
        float[][] expected = new float[threads][];
        using (ICompiledModel single = _fixture.Create())
        {
            for (int i = 0; i < threads; i++) expected[i] = OrtComparison.RunCompiled(single, new[] { inputs[i] })[0];
        }
        float[][] actual = new float[threads][];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            using ICompiledModel model = parallel ? _fixture.Create(degreeOfParallelism: 2 + i) : _fixture.Create();
            for (int repeat = 0; repeat < 3; repeat++) actual[i] = OrtComparison.RunCompiled(model, new[] { inputs[i] })[0];
        });
        for (int i = 0; i < threads; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public void Repeated_runs_are_bit_identical_and_independent_of_previous_inputs()
    {
        using ICompiledModel model = _fixture.Create();
        float[] a = OrtComparison.RandomInput(150528, 1), b = OrtComparison.RandomInput(150528, 2);
        float[] first = OrtComparison.RunCompiled(model, new[] { a })[0];
        OrtComparison.RunCompiled(model, new[] { b });
        float[] again = OrtComparison.RunCompiled(model, new[] { a })[0];
        Assert.Equal(first, again);
    }

    [Fact]
    public void Run_after_Dispose_throws_ObjectDisposedException()
    {
        ICompiledModel model = _fixture.Create();
        model.Dispose();
        model.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => OrtComparison.RunCompiled(model, new[] { new float[150528] }));
    }
}
