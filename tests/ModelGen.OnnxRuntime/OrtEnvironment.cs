// The process-wide OrtEnv, CPU memory info and default allocator shared by all sessions.

namespace ModelGen.OnnxRuntime;

/// <summary>
/// Owns the single OrtEnv of the process (created lazily on first use, logging at warning level).
/// Sessions acquire it while they live; it is released at process exit when no session is left
/// (releasing it under a live session would pull the logger out from under it).
/// </summary>
internal static unsafe class OrtEnvironment
{
    private static readonly object s_lock = new();
    private static nint s_env;
    private static nint s_memoryInfo;
    private static nint s_allocator;
    private static int s_users;
    private static bool s_exitHooked;

    /// <summary>A CPU OrtMemoryInfo for tensors over managed memory; valid while acquired.</summary>
    internal static nint CpuMemoryInfo => s_memoryInfo;

    /// <summary>ORT's default CPU allocator (owned by ORT, never released); valid while acquired.</summary>
    internal static nint Allocator => s_allocator;

    /// <summary>Returns the OrtEnv, creating it if needed; pair with <see cref="Release"/>.</summary>
    internal static nint Acquire()
    {
        OrtLibrary.EnsureLoaded();
        lock (s_lock)
        {
            if (s_env == 0)
                Create();
            s_users++;
            return s_env;
        }
    }

    /// <summary>Says that one user of <see cref="Acquire"/> is gone.</summary>
    internal static void Release()
    {
        lock (s_lock)
            s_users--;
    }

    private static void Create()
    {
        nint env, memoryInfo = 0, allocator;
        fixed (byte* logId = "ModelGen"u8)
            OrtNative.Check(OrtNative.CreateEnv(OrtNative.OrtLoggingLevelWarning, logId, &env), "CreateEnv");
        try
        {
            OrtNative.Check(OrtNative.CreateCpuMemoryInfo(OrtNative.OrtArenaAllocator, OrtNative.OrtMemTypeDefault, &memoryInfo), "CreateCpuMemoryInfo");
            OrtNative.Check(OrtNative.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions");
        }
        catch
        {
            OrtNative.ReleaseMemoryInfo(memoryInfo);
            OrtNative.ReleaseEnv(env);
            throw;
        }
        (s_env, s_memoryInfo, s_allocator) = (env, memoryInfo, allocator);
        if (!s_exitHooked)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => ReleaseIfUnused();
            s_exitHooked = true;
        }
    }

    private static void ReleaseIfUnused()
    {
        lock (s_lock)
        {
            if (s_users != 0 || s_env == 0)
                return;
            OrtNative.ReleaseMemoryInfo(s_memoryInfo);
            OrtNative.ReleaseEnv(s_env);
            (s_env, s_memoryInfo, s_allocator) = (0, 0, 0);
        }
    }
}
