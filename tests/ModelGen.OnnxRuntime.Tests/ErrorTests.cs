// Error reporting: ORT failures become OrtException, binding mistakes ArgumentException.

namespace ModelGen.OnnxRuntime.Tests;

public class ErrorTests
{
    [Fact]
    public void GarbageModelBytes_ThrowOrtExceptionWithOrtMessage()
    {
        TestFiles.RequireOrt();
        byte[] garbage = [.. Enumerable.Range(0, 64).Select(i => (byte)(i * 37 + 11))];

        var e = Assert.Throws<OrtException>(() => new OrtSession(garbage));

        Assert.Equal("CreateSessionFromArray", e.Function);
        Assert.NotEqual(0, e.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(e.OrtMessage));
        Assert.Contains(e.OrtMessage, e.Message);
        Assert.Contains("CreateSessionFromArray", e.Message);
    }

    [Fact]
    public void MissingModelFile_ThrowsOrtException()
    {
        TestFiles.RequireOrt();
        string path = Path.Combine(Path.GetTempPath(), $"modelgen-no-such-model-{Guid.NewGuid():N}.onnx");

        var e = Assert.Throws<OrtException>(() => new OrtSession(path));

        Assert.Equal("CreateSession", e.Function);
    }

    [Fact]
    public void UnknownMissingOrDuplicateInputName_ThrowsArgumentException()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.DynamicRelu);
        OrtTensor x = OrtTensor.Float("x", new float[4], 1, 4);

        var unknown = Assert.Throws<ArgumentException>(() => session.Run([OrtTensor.Float("not_x", new float[4], 1, 4)]));
        Assert.Contains("not_x", unknown.Message);
        Assert.Contains("'x'", Assert.Throws<ArgumentException>(() => session.Run([])).Message);
        Assert.Throws<ArgumentException>(() => session.Run([x, x]));
        Assert.Throws<ArgumentException>(() => session.Prepare([OrtTensor.Float("not_x", new float[4], 1, 4)]));
    }

    [Fact]
    public void WrongElementTypeOrShape_ThrowsOrtExceptionFromRun()
    {
        TestFiles.RequireOrt();
        using var session = new OrtSession(Fixtures.DynamicRelu);

        var type = Assert.Throws<OrtException>(() => session.Run([OrtTensor.Double("x", new double[4], 1, 4)]));
        Assert.Equal("Run", type.Function);
        Assert.Throws<OrtException>(() => session.Run([OrtTensor.Float("x", new float[3], 1, 3)]));
    }

    [Fact]
    public void DisposedSession_ThrowsObjectDisposedException()
    {
        TestFiles.RequireOrt();
        var session = new OrtSession(Fixtures.DynamicRelu);
        session.Dispose();
        session.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.Run([OrtTensor.Float("x", new float[4], 1, 4)]));
    }
}
