// Licensed under the MIT license.
// Where things are: the repository root (the folder holding ModelGen.sln) and the shared models beside it.

namespace ModelGen.TestSupport;

public static class Paths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root.</summary>
    public static string RepoRoot => s_root.Value;

    /// <summary><c>../shared/models</c> next to the repository (read in place, never copied into the project).</summary>
    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    /// <summary>A shared model file; fails (never skips) with a message when it is missing.</summary>
    public static string SharedModel(string fileName)
    {
        string path = Path.Combine(SharedModels, fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Required model '{fileName}' is missing at {path}. The tests read the shared models from ../shared/models " +
                "next to the repository; check out ../shared beside it.", path);
        }
        return path;
    }

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "ModelGen.sln"))) return dir;
        }
        throw new InvalidOperationException("ModelGen.sln not found above " + AppContext.BaseDirectory);
    }
}
