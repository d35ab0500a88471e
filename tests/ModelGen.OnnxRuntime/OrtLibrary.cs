// Finds and loads the ONNX Runtime native library and binds the OrtApi table.

using System.Reflection;
using System.Runtime.InteropServices;

namespace ModelGen.OnnxRuntime;

/// <summary>
/// Loads ONNX Runtime (once per process). The library path comes from the environment variable
/// <c>MODELGEN_ORT_LIBRARY</c> if set, else from the path the build downloaded it to
/// (<c>tests/.cache/onnxruntime/1.23.2/libonnxruntime.so.1</c>).
/// </summary>
public static unsafe class OrtLibrary
{
    /// <summary>The environment variable that overrides <see cref="LibraryPath"/>.</summary>
    public const string EnvironmentVariable = "MODELGEN_ORT_LIBRARY";

    private const string MetadataKey = "ModelGen.OnnxRuntime.LibraryPath";

    private static readonly object s_lock = new();
    private static volatile bool s_loaded;
    private static string s_version = "";

    /// <summary>
    /// The path <see cref="TryLoad"/> loads (or loaded) the native library from: <c>MODELGEN_ORT_LIBRARY</c>
    /// when set, else the path recorded at build time; empty if neither is known.
    /// </summary>
    public static string LibraryPath
    {
        get
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
                return fromEnvironment;
            return typeof(OrtLibrary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == MetadataKey)?.Value ?? "";
        }
    }

    /// <summary>The ONNX Runtime version string (e.g. "1.23.2"); loads the library first.</summary>
    /// <exception cref="InvalidOperationException">The library could not be loaded (the message says why).</exception>
    public static string Version
    {
        get
        {
            EnsureLoaded();
            return s_version;
        }
    }

    /// <summary>
    /// Loads the native library and binds the C API if that has not happened yet. Never throws.
    /// </summary>
    /// <param name="error">Null on success; otherwise what went wrong, which path was tried and how to fix it.</param>
    /// <returns>True when ONNX Runtime is ready to use.</returns>
    public static bool TryLoad(out string? error)
    {
        error = null;
        if (s_loaded)
            return true;
        lock (s_lock)
        {
            if (s_loaded)
                return true;
            string path = LibraryPath;
            try
            {
                error = Load(path);
            }
            catch (Exception e)
            {
                error = e.Message;
            }
            if (error is null)
                return s_loaded = true;
            string source = string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EnvironmentVariable)) ? "the path recorded at build time" : EnvironmentVariable;
            error = $"ONNX Runtime could not be loaded from '{path}' ({source}): {error} "
                + "Build tests/ModelGen.OnnxRuntime (its FetchOnnxRuntime target downloads ONNX Runtime 1.23.2 into tests/.cache/onnxruntime/), "
                + $"or set {EnvironmentVariable} to the path of an ONNX Runtime >= 1.23 library (libonnxruntime.so.1).";
            return false;
        }
    }

    /// <summary>Loads the library or throws <see cref="InvalidOperationException"/> with the <see cref="TryLoad"/> message.</summary>
    internal static void EnsureLoaded()
    {
        if (!s_loaded && !TryLoad(out string? error))
            throw new InvalidOperationException(error);
    }

    // Returns null on success, else the reason for the failure.
    private static string? Load(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            return $"no path is known (the assembly has no '{MetadataKey}' metadata and {EnvironmentVariable} is not set).";
        if (!File.Exists(path))
            return "the file does not exist.";
        nint handle;
        try
        {
            handle = NativeLibrary.Load(path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return $"the operating system could not load it ({e.Message.Trim()}).";
        }
        if (!NativeLibrary.TryGetExport(handle, "OrtGetApiBase", out nint getApiBase))
            return "it does not export OrtGetApiBase; is it really ONNX Runtime?";

        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t version); const char* (*GetVersionString)(void); }
        void** apiBase = ((delegate* unmanaged<void**>)getApiBase)();
        var getApi = (delegate* unmanaged<uint, void**>)apiBase[0];
        var getVersionString = (delegate* unmanaged<byte*>)apiBase[1];
        string version = OrtNative.Utf8(getVersionString()) ?? "?";
        void** api = getApi(OrtNative.ApiVersion);
        if (api == null)
            return $"it is ONNX Runtime {version}, which does not provide API version {OrtNative.ApiVersion} (ONNX Runtime 1.23 or later is needed).";
        OrtNative.Bind(api);
        if (!OrtNative.SelfCheck())
            return $"the OrtApi table of ONNX Runtime {version} does not have the expected layout (CreateStatus/GetErrorMessage round trip failed).";
        s_version = version;
        return null;
    }
}
