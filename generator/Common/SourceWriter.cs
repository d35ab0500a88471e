// Licensed under the MIT license.
// Indenting text writer for generated C#: 4-space indent, re-indents multi-line strings, must close at indent 0.

using System;
using System.Text;

namespace ModelGen.Generator.Common;

/// <summary>Writes indented C# source. Multi-line strings are split and re-indented line by line.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public int Indentation => _indent;

    public void Indent() => _indent++;

    public void Unindent()
    {
        if (_indent == 0) throw new InvalidOperationException("SourceWriter: unbalanced unindent.");
        _indent--;
    }

    public void OpenBlock(string? header = null)
    {
        if (!string.IsNullOrEmpty(header)) WriteLine(header!);
        WriteLine("{");
        _indent++;
    }

    public void CloseBlock(string suffix = "")
    {
        Unindent();
        WriteLine("}" + suffix);
    }

    public void WriteLine() => _sb.Append('\n');

    public void WriteLine(string text)
    {
        if (text.IndexOf('\n') < 0)
        {
            AppendLine(text);
            return;
        }
        foreach (string line in text.Replace("\r\n", "\n").Split('\n')) AppendLine(line);
    }

    private void AppendLine(string line)
    {
        if (line.Length == 0)
        {
            _sb.Append('\n');
            return;
        }
        _sb.Append(' ', _indent * 4).Append(line).Append('\n');
    }

    public override string ToString()
    {
        if (_indent != 0) throw new InvalidOperationException($"SourceWriter: closed at indent {_indent}, expected 0.");
        return _sb.ToString();
    }
}
