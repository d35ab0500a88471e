// The exception every failing ONNX Runtime call (a non-null OrtStatus) is turned into.

namespace ModelGen.OnnxRuntime;

/// <summary>An ONNX Runtime C API call returned an error status.</summary>
public sealed class OrtException : Exception
{
    internal OrtException(string function, int errorCode, string ortMessage)
        : base($"{ortMessage} (ONNX Runtime {function}, {ErrorCodeName(errorCode)})")
    {
        Function = function;
        ErrorCode = errorCode;
        OrtMessage = ortMessage;
    }

    /// <summary>The name of the C API function that failed, e.g. <c>CreateSessionFromArray</c>.</summary>
    public string Function { get; }

    /// <summary>ORT's <c>OrtErrorCode</c> (1 = ORT_FAIL, 2 = ORT_INVALID_ARGUMENT, 7 = ORT_INVALID_PROTOBUF, ...).</summary>
    public int ErrorCode { get; }

    /// <summary>The error message exactly as ONNX Runtime reported it.</summary>
    public string OrtMessage { get; }

    private static string ErrorCodeName(int code) => code switch
    {
        1 => "ORT_FAIL",
        2 => "ORT_INVALID_ARGUMENT",
        3 => "ORT_NO_SUCHFILE",
        4 => "ORT_NO_MODEL",
        5 => "ORT_ENGINE_ERROR",
        6 => "ORT_RUNTIME_EXCEPTION",
        7 => "ORT_INVALID_PROTOBUF",
        8 => "ORT_MODEL_LOADED",
        9 => "ORT_NOT_IMPLEMENTED",
        10 => "ORT_INVALID_GRAPH",
        11 => "ORT_EP_FAIL",
        _ => $"error code {code}",
    };
}
