// Licensed under the MIT license.
// A bounds-checked protobuf wire-format reader over a byte array. Every failure names what was expected and where.

using System;
using System.Text;

namespace ModelGen.Generator.Onnx;

/// <summary>Thrown (and caught by the parser's caller) when the bytes are not the protobuf message we expected.</summary>
internal sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message) : base(message) { }
}

internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>Reads one protobuf message (a window [start, end) of the buffer). Nested messages get their own reader.</summary>
internal struct ProtoReader
{
    private readonly byte[] _buffer;
    private readonly int _end;
    private readonly string _message;
    private int _pos;

    public ProtoReader(byte[] buffer, int start, int end, string message)
    {
        _buffer = buffer;
        _pos = start;
        _end = end;
        _message = message;
    }

    public readonly byte[] Buffer => _buffer;

    public readonly int Position => _pos;

    public readonly bool AtEnd => _pos >= _end;

    /// <summary>Reads the next field key. Returns false at the end of this message.</summary>
    public bool TryReadTag(out int field, out WireType wireType)
    {
        if (_pos >= _end)
        {
            field = 0;
            wireType = 0;
            return false;
        }
        int at = _pos;
        ulong key = ReadVarint("a field key");
        field = (int)(key >> 3);
        wireType = (WireType)(key & 7);
        if (field <= 0 || key >> 3 > int.MaxValue)
            throw Error(at, $"a field key with a positive field number, found {key >> 3}");
        if (wireType is WireType.StartGroup or WireType.EndGroup || (int)wireType > 5)
            throw Error(at, $"a supported wire type for field {field}, found wire type {(int)wireType}");
        return true;
    }

    public ulong ReadVarint(string what)
    {
        int at = _pos;
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _end) throw Error(at, $"{what} (varint), but the message ends at byte {_end}");
            byte b = _buffer[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw Error(at, $"{what} (varint of at most 10 bytes)");
    }

    public long ReadInt64(string what) => (long)ReadVarint(what);

    public int ReadInt32(string what) => (int)(long)ReadVarint(what);

    public uint ReadFixed32(string what)
    {
        if (_end - _pos < 4) throw Error(_pos, $"{what} (4 bytes), but only {_end - _pos} remain");
        uint v = BitConverter.ToUInt32(_buffer, _pos);
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64(string what)
    {
        if (_end - _pos < 8) throw Error(_pos, $"{what} (8 bytes), but only {_end - _pos} remain");
        ulong v = BitConverter.ToUInt64(_buffer, _pos);
        _pos += 8;
        return v;
    }

    public float ReadFloat(string what) => BitConverter.ToSingle(BitConverter.GetBytes(ReadFixed32(what)), 0);

    public double ReadDouble(string what) => BitConverter.Int64BitsToDouble((long)ReadFixed64(what));

    /// <summary>Reads a length prefix and returns the [start, end) window of the payload, advancing past it.</summary>
    public (int Start, int End) ReadLengthDelimited(string what)
    {
        int at = _pos;
        ulong len = ReadVarint($"the length of {what}");
        if (len > (ulong)(_end - _pos))
            throw Error(at, $"{what} of {len} bytes, but only {_end - _pos} bytes remain in the enclosing {_message} (truncated file?)");
        int start = _pos;
        _pos += (int)len;
        return (start, _pos);
    }

    public string ReadString(string what)
    {
        (int s, int e) = ReadLengthDelimited(what);
        return Encoding.UTF8.GetString(_buffer, s, e - s);
    }

    public byte[] ReadBytes(string what)
    {
        (int s, int e) = ReadLengthDelimited(what);
        var bytes = new byte[e - s];
        Array.Copy(_buffer, s, bytes, 0, bytes.Length);
        return bytes;
    }

    public ProtoReader ReadMessage(string message)
    {
        (int s, int e) = ReadLengthDelimited(message);
        return new ProtoReader(_buffer, s, e, message);
    }

    /// <summary>Skips a field we do not use (unknown fields are legal protobuf).</summary>
    public void Skip(int field, WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint: ReadVarint($"field {field}"); break;
            case WireType.Fixed64: ReadFixed64($"field {field}"); break;
            case WireType.Fixed32: ReadFixed32($"field {field}"); break;
            case WireType.LengthDelimited: ReadLengthDelimited($"field {field}"); break;
            default: throw Error(_pos, $"a skippable wire type for field {field}");
        }
    }

    /// <summary>Checks the wire type of a known field (a mismatch means the bytes are not this message).</summary>
    public readonly void Expect(int field, WireType actual, WireType expected, string name)
    {
        if (actual != expected)
            throw Error(_pos, $"{_message}.{name} (field {field}) with wire type {(int)expected}, found wire type {(int)actual}");
    }

    public readonly OnnxFormatException Error(int at, string expected) =>
        new($"expected {expected} at byte {at} (in {_message})");
}
