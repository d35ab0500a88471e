// A tiny reader for binary PGM (P5) images, the format of the sample's test images.

namespace DigitClassifier;

/// <summary>A grey-scale image read from a binary PGM (P5) file: one sample per pixel, row-major, 0..MaxValue.</summary>
internal sealed class PgmImage
{
    private PgmImage(int width, int height, int maxValue, int[] pixels)
    {
        Width = width;
        Height = height;
        MaxValue = maxValue;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public int MaxValue { get; }

    /// <summary>The samples, row-major, each in 0..<see cref="MaxValue"/>.</summary>
    public int[] Pixels { get; }

    /// <summary>Reads a binary PGM file (magic P5; header fields separated by whitespace, '#' comments allowed).</summary>
    /// <exception cref="InvalidDataException">The file is not a valid binary PGM; the message says what is wrong.</exception>
    public static PgmImage Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Parse(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: not a valid binary PGM (P5) image: {e.Message}");
        }
    }

    private static PgmImage Parse(byte[] b)
    {
        if (b.Length < 2 || b[0] != 'P' || b[1] != '5')
        {
            string found = b.Length >= 2 ? $"'{(char)b[0]}{(char)b[1]}'" : $"a {b.Length}-byte file";
            throw new InvalidDataException($"expected the magic number 'P5' at the start, found {found}"
                + (b.Length >= 2 && b[0] == 'P' && b[1] == '2' ? " (P2 is plain-text PGM; convert it to binary, e.g. with netpbm's pnmtopnm)" : "") + ".");
        }
        int pos = 2;
        int width = ReadHeaderNumber(b, ref pos, "width");
        int height = ReadHeaderNumber(b, ref pos, "height");
        int maxValue = ReadHeaderNumber(b, ref pos, "maxval");
        if (width < 1 || height < 1)
            throw new InvalidDataException($"the size {width}x{height} is empty.");
        if (width > 4096 || height > 4096)
            throw new InvalidDataException($"the size {width}x{height} is larger than this reader accepts (4096x4096).");
        if (maxValue < 1 || maxValue > 65535)
            throw new InvalidDataException($"maxval is {maxValue}; it must be in 1..65535.");
        // Exactly one whitespace byte separates maxval from the raster.
        if (pos >= b.Length || !IsWhitespace(b[pos]))
            throw new InvalidDataException("the header does not end with a whitespace byte after maxval.");
        pos++;

        int bytesPerSample = maxValue < 256 ? 1 : 2;
        long needed = (long)width * height * bytesPerSample;
        if (b.Length - pos < needed)
            throw new InvalidDataException($"a {width}x{height} raster with maxval {maxValue} needs {needed} bytes, the file has only {b.Length - pos} after the header (truncated?).");

        var pixels = new int[width * height];
        for (int i = 0; i < pixels.Length; i++)
        {
            int v = bytesPerSample == 1 ? b[pos + i] : (b[pos + 2 * i] << 8) | b[pos + 2 * i + 1];   // 16-bit samples are big-endian
            if (v > maxValue)
                throw new InvalidDataException($"pixel ({i % width}, {i / width}) is {v}, more than maxval {maxValue}.");
            pixels[i] = v;
        }
        return new PgmImage(width, height, maxValue, pixels);
    }

    private static bool IsWhitespace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    // Skips whitespace and '#' comments (to the end of the line), then reads a decimal number.
    private static int ReadHeaderNumber(byte[] b, ref int pos, string what)
    {
        while (pos < b.Length)
        {
            if (IsWhitespace(b[pos]))
            {
                pos++;
            }
            else if (b[pos] == '#')
            {
                while (pos < b.Length && b[pos] != '\n' && b[pos] != '\r') pos++;
            }
            else
            {
                break;
            }
        }
        if (pos >= b.Length)
            throw new InvalidDataException($"the header ends before the {what}.");
        if (b[pos] < '0' || b[pos] > '9')
            throw new InvalidDataException($"expected the {what} (a decimal number) in the header, found '{(char)b[pos]}'.");
        long value = 0;
        while (pos < b.Length && b[pos] >= '0' && b[pos] <= '9')
        {
            value = value * 10 + (b[pos] - '0');
            if (value > int.MaxValue)
                throw new InvalidDataException($"the {what} in the header is too large.");
            pos++;
        }
        if (pos < b.Length && !IsWhitespace(b[pos]))
            throw new InvalidDataException($"the {what} in the header is followed by '{(char)b[pos]}' instead of whitespace.");
        return (int)value;
    }
}
