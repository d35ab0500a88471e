// Locates the shared reference models and the fixtures, and makes missing files fail loudly.

namespace ModelGen.OnnxRuntime.Tests;

internal static class TestFiles
{
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The folder holding ModelGen.sln.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The shared model folder beside the repository: &lt;repo&gt;/../shared/models.</summary>
    public static string ModelsDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    /// <summary>The full path of a shared model file or folder; fails the test if it does not exist.</summary>
    public static string Model(params string[] parts) => Require(Path.Combine([ModelsDir, .. parts]));

    /// <summary>The full path of a file in fixtures/ (copied to the output folder); fails the test if missing.</summary>
    public static string Fixture(string name) => Require(Path.Combine(AppContext.BaseDirectory, "fixtures", name));

    /// <summary>Fails the test unless ONNX Runtime loads.</summary>
    public static void RequireOrt()
    {
        if (!OrtLibrary.TryLoad(out string? error))
            Assert.Fail(error);
    }

    private static string Require(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            Assert.Fail($"Required test file is missing: {path}");
        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelGen.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No ModelGen.sln found above {AppContext.BaseDirectory}.");
    }
}

internal static class TensorAssert
{
    /// <summary>Asserts |a - r| &lt;= atol + rtol * |r| element-wise (like numpy.allclose).</summary>
    public static void AllClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol)
    {
        Assert.Equal(expected.Length, actual.Length);
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double r = expected[i], a = actual[i];
            double excess = Math.Abs(a - r) - (atol + rtol * Math.Abs(r));
            if (excess > 0 || double.IsNaN(a) != double.IsNaN(r))
            {
                bad++;
                if (first < 0)
                    first = i;
                worst = Math.Max(worst, Math.Abs(a - r));
            }
        }
        if (bad > 0)
            Assert.Fail($"{bad} of {expected.Length} elements differ beyond atol={atol}, rtol={rtol}; first at [{first}]: expected {expected[first]}, got {actual[first]}; worst |diff| {worst}.");
    }
}
