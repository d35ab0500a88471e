// The raw ONNX Runtime C API: typed function pointers read from the OrtApi table, plus status
// handling. Every other file goes through this one; nothing here is public.
//
// The OrtApi struct (include/onnxruntime/core/session/onnxruntime_c_api.h) is a table of
// function pointers that only ever grows at the end, so an index stays valid for every later
// version. Each index below was counted in the header, cross-checked against the official C#
// binding's OrtApi mirror, and is exercised by the tests.

using System.Runtime.InteropServices;
using System.Text;

namespace ModelGen.OnnxRuntime;

internal static unsafe class OrtNative
{
    /// <summary>ORT_API_VERSION of ONNX Runtime 1.23.</summary>
    internal const uint ApiVersion = 23;

    // Handles are opaque pointers (OrtEnv*, OrtSession*, OrtValue*, ...) kept as nint.
    // A returned nint "status" is an OrtStatus*; 0 means success.
    internal static delegate* unmanaged<int, byte*, nint> CreateStatus;                           // [0]
    internal static delegate* unmanaged<nint, int> GetErrorCode;                                  // [1]
    internal static delegate* unmanaged<nint, byte*> GetErrorMessage;                             // [2]
    internal static delegate* unmanaged<int, byte*, nint*, nint> CreateEnv;                       // [3]
    internal static delegate* unmanaged<nint, void*, nint, nint*, nint> CreateSession;            // [7]
    internal static delegate* unmanaged<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray; // [8]
    internal static delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint> Run; // [9]
    internal static delegate* unmanaged<nint*, nint> CreateSessionOptions;                        // [10]
    internal static delegate* unmanaged<nint, byte*, nint> EnableProfiling;                       // [14]
    internal static delegate* unmanaged<nint, int, nint> SetSessionGraphOptimizationLevel;        // [23]
    internal static delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads;                    // [24]
    internal static delegate* unmanaged<nint, int, nint> SetInterOpNumThreads;                    // [25]
    internal static delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount;                 // [30]
    internal static delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount;                // [31]
    internal static delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo;        // [33]
    internal static delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;       // [34]
    internal static delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetInputName;     // [36]
    internal static delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOutputName;    // [37]
    internal static delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue; // [49]
    internal static delegate* unmanaged<nint, void**, nint> GetTensorMutableData;                 // [51]
    internal static delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo;              // [55]
    internal static delegate* unmanaged<nint, int*, nint> GetOnnxTypeFromTypeInfo;                // [56]
    internal static delegate* unmanaged<nint, int*, nint> GetTensorElementType;                   // [60]
    internal static delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount;                   // [61]
    internal static delegate* unmanaged<nint, long*, nuint, nint> GetDimensions;                  // [62]
    internal static delegate* unmanaged<nint, byte**, nuint, nint> GetSymbolicDimensions;         // [63]
    internal static delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape;                 // [65]
    internal static delegate* unmanaged<int, int, nint*, nint> CreateCpuMemoryInfo;               // [69]
    internal static delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions;              // [78]
    internal static delegate* unmanaged<nint, void> ReleaseEnv;                                   // [92]
    internal static delegate* unmanaged<nint, void> ReleaseStatus;                                // [93]
    internal static delegate* unmanaged<nint, void> ReleaseMemoryInfo;                            // [94]
    internal static delegate* unmanaged<nint, void> ReleaseSession;                               // [95]
    internal static delegate* unmanaged<nint, void> ReleaseValue;                                 // [96]
    internal static delegate* unmanaged<nint, void> ReleaseTypeInfo;                              // [98]
    internal static delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo;                // [99]
    internal static delegate* unmanaged<nint, void> ReleaseSessionOptions;                        // [100]
    internal static delegate* unmanaged<nint, nint, byte**, nint> SessionEndProfiling;            // [110]

    // Enum values from onnxruntime_c_api.h.
    internal const int OrtLoggingLevelWarning = 2;
    internal const int OrtErrorInvalidArgument = 2;
    internal const int OrtArenaAllocator = 1;
    internal const int OrtMemTypeDefault = 0;
    internal const int OnnxTypeTensor = 1;

    /// <summary>Fills the function pointers from an OrtApi table (an array of pointers).</summary>
    internal static void Bind(void** api)
    {
        CreateStatus = (delegate* unmanaged<int, byte*, nint>)api[0];
        GetErrorCode = (delegate* unmanaged<nint, int>)api[1];
        GetErrorMessage = (delegate* unmanaged<nint, byte*>)api[2];
        CreateEnv = (delegate* unmanaged<int, byte*, nint*, nint>)api[3];
        CreateSession = (delegate* unmanaged<nint, void*, nint, nint*, nint>)api[7];
        CreateSessionFromArray = (delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)api[8];
        Run = (delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)api[9];
        CreateSessionOptions = (delegate* unmanaged<nint*, nint>)api[10];
        EnableProfiling = (delegate* unmanaged<nint, byte*, nint>)api[14];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged<nint, int, nint>)api[23];
        SetIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)api[24];
        SetInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)api[25];
        SessionGetInputCount = (delegate* unmanaged<nint, nuint*, nint>)api[30];
        SessionGetOutputCount = (delegate* unmanaged<nint, nuint*, nint>)api[31];
        SessionGetInputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)api[33];
        SessionGetOutputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)api[34];
        SessionGetInputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)api[36];
        SessionGetOutputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)api[37];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)api[49];
        GetTensorMutableData = (delegate* unmanaged<nint, void**, nint>)api[51];
        CastTypeInfoToTensorInfo = (delegate* unmanaged<nint, nint*, nint>)api[55];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged<nint, int*, nint>)api[56];
        GetTensorElementType = (delegate* unmanaged<nint, int*, nint>)api[60];
        GetDimensionsCount = (delegate* unmanaged<nint, nuint*, nint>)api[61];
        GetDimensions = (delegate* unmanaged<nint, long*, nuint, nint>)api[62];
        GetSymbolicDimensions = (delegate* unmanaged<nint, byte**, nuint, nint>)api[63];
        GetTensorTypeAndShape = (delegate* unmanaged<nint, nint*, nint>)api[65];
        CreateCpuMemoryInfo = (delegate* unmanaged<int, int, nint*, nint>)api[69];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged<nint*, nint>)api[78];
        ReleaseEnv = (delegate* unmanaged<nint, void>)api[92];
        ReleaseStatus = (delegate* unmanaged<nint, void>)api[93];
        ReleaseMemoryInfo = (delegate* unmanaged<nint, void>)api[94];
        ReleaseSession = (delegate* unmanaged<nint, void>)api[95];
        ReleaseValue = (delegate* unmanaged<nint, void>)api[96];
        ReleaseTypeInfo = (delegate* unmanaged<nint, void>)api[98];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged<nint, void>)api[99];
        ReleaseSessionOptions = (delegate* unmanaged<nint, void>)api[100];
        SessionEndProfiling = (delegate* unmanaged<nint, nint, byte**, nint>)api[110];
    }

    /// <summary>
    /// Round-trips a status through CreateStatus / GetErrorCode / GetErrorMessage / ReleaseStatus:
    /// a cheap guard that the table really has the layout this file assumes.
    /// </summary>
    internal static bool SelfCheck()
    {
        ReadOnlySpan<byte> probe = "modelgen-probe\0"u8;
        nint status;
        fixed (byte* p = probe)
            status = CreateStatus(OrtErrorInvalidArgument, p);
        if (status == 0)
            return false;
        bool ok = GetErrorCode(status) == OrtErrorInvalidArgument && Utf8(GetErrorMessage(status)) == "modelgen-probe";
        ReleaseStatus(status);
        return ok;
    }

    /// <summary>Throws an <see cref="OrtException"/> (and releases the status) when <paramref name="status"/> is an error.</summary>
    internal static void Check(nint status, string function)
    {
        if (status != 0)
            Throw(status, function);
    }

    private static void Throw(nint status, string function)
    {
        int code = GetErrorCode(status);
        string message = Utf8(GetErrorMessage(status)) ?? "(no message)";
        ReleaseStatus(status);
        throw new OrtException(function, code, message);
    }

    /// <summary>Frees a string that ORT allocated with the default allocator (OrtAllocator::Free).</summary>
    internal static void AllocatorFree(nint allocator, void* p)
    {
        // struct OrtAllocator { uint32_t version; void* (*Alloc)(...); void (*Free)(OrtAllocator*, void*); ... }
        var free = ((delegate* unmanaged<nint, void*, void>*)allocator)[2];
        free(allocator, p);
    }

    internal static string? Utf8(byte* s) => s == null ? null : Marshal.PtrToStringUTF8((nint)s);

    /// <summary>Copies <paramref name="s"/> to a NUL-terminated UTF-8 string in native memory (free with NativeMemory.Free).</summary>
    internal static byte* AllocUtf8(string s)
    {
        int length = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }
}
