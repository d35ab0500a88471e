// OrtLibrary: loading, version and the MODELGEN_ORT_LIBRARY override.

namespace ModelGen.OnnxRuntime.Tests;

[CollectionDefinition(nameof(EnvironmentVariableCollection), DisableParallelization = true)]
public class EnvironmentVariableCollection;

public class OrtLibraryTests
{
    [Fact]
    public void TryLoad_SucceedsAndReportsVersion()
    {
        Assert.True(OrtLibrary.TryLoad(out string? error), error);
        Assert.Null(error);
        Assert.Equal("1.23.2", OrtLibrary.Version);
    }

    [Fact]
    public void Profiling_WritesOneKernelEventPerNodeAndRun()
    {
        TestFiles.RequireOrt();
        string prefix = Path.Combine(Path.GetTempPath(), $"modelgen-ort-profile-test-{Guid.NewGuid():N}");
        using var session = new OrtSession(Fixtures.DynamicRelu, new OrtSessionOptions { Optimization = OrtGraphOptimization.Disabled, ProfileFilePrefix = prefix });
        for (int i = 0; i < 3; i++) session.Run([OrtTensor.Float("x", [1, -2, -3, 4], 1, 4)]);
        string file = session.EndProfiling();
        try
        {
            Assert.StartsWith(prefix, file);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(file));
            var kernels = doc.RootElement.EnumerateArray()
                .Where(e => e.GetProperty("cat").GetString() == "Node" && e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
                .Select(e => e.GetProperty("args").GetProperty("op_name").GetString())
                .ToList();
            Assert.Equal(3, kernels.Count(op => op == "Relu"));
            Assert.Equal(3, kernels.Count(op => op == "Mul"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void SessionOptions_AllOptimizationLevelsAndThreadCountsWork()
    {
        TestFiles.RequireOrt();
        foreach (OrtGraphOptimization level in Enum.GetValues<OrtGraphOptimization>())
        {
            using var session = new OrtSession(Fixtures.DynamicRelu,
                new OrtSessionOptions { Optimization = level, IntraOpThreads = 2, InterOpThreads = 0 });
            Assert.Equal([2f, 0, 0, 8], session.Run([OrtTensor.Float("x", [1, -2, -3, 4], 1, 4)])[0].GetData<float>());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrtSession(Fixtures.DynamicRelu, new OrtSessionOptions { IntraOpThreads = -1 }));
    }
}

// Changes a process-wide environment variable, so it runs alone (after the library is loaded:
// the override is only read by the first successful TryLoad).
[Collection(nameof(EnvironmentVariableCollection))]
public class OrtLibraryPathTests
{
    [Fact]
    public void LibraryPath_DefaultsToBuildCacheAndHonoursEnvironmentOverride()
    {
        TestFiles.RequireOrt();
        string? saved = Environment.GetEnvironmentVariable(OrtLibrary.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(OrtLibrary.EnvironmentVariable, null);
            string fromBuild = OrtLibrary.LibraryPath;
            Assert.Equal(Path.Combine(Paths.RepoRoot, "tests", ".cache", "onnxruntime", "1.23.2", "libonnxruntime.so.1"), Path.GetFullPath(fromBuild));
            Assert.True(File.Exists(fromBuild), fromBuild);

            Environment.SetEnvironmentVariable(OrtLibrary.EnvironmentVariable, "/elsewhere/libonnxruntime.so.1");
            Assert.Equal("/elsewhere/libonnxruntime.so.1", OrtLibrary.LibraryPath);
        }
        finally
        {
            Environment.SetEnvironmentVariable(OrtLibrary.EnvironmentVariable, saved);
        }
    }
}
