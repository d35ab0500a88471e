// Licensed under the MIT license.
// Turns ONNX names and file names into valid, collision-free C# identifiers.

using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ModelGen.Generator.Common;

internal static class Identifiers
{
    private static readonly HashSet<string> s_keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>A valid identifier keeping the ONNX spelling where possible: <c>serving_default_input:0</c> → <c>serving_default_input_0</c>.</summary>
    public static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length + 1);
        foreach (char ch in name)
        {
            sb.Append(IsIdentifierPart(ch) ? ch : '_');
        }
        string s = sb.ToString().Trim('_');
        if (s.Length == 0) s = "value";
        if (!IsIdentifierStart(s[0])) s = "_" + s;
        return s_keywords.Contains(s) ? "@" + s : s;
    }

    /// <summary>PascalCase from any text: <c>squeezenet1.1</c> → <c>Squeezenet11</c>, <c>tv-resnet18</c> → <c>TvResnet18</c>.</summary>
    public static string PascalCase(string name)
    {
        var sb = new StringBuilder(name.Length);
        bool upper = true;
        foreach (char ch in name)
        {
            if (!IsIdentifierPart(ch) || ch == '_')
            {
                upper = true;
                continue;
            }
            sb.Append(upper ? char.ToUpperInvariant(ch) : ch);
            upper = false;
        }
        string s = sb.ToString();
        if (s.Length == 0) return "Model";
        return IsIdentifierStart(s[0]) ? s : "M" + s;
    }

    /// <summary>Returns a name not in <paramref name="used"/> (appending 2, 3...), and records it.</summary>
    public static string Unique(string name, HashSet<string> used)
    {
        string candidate = name;
        for (int i = 2; !used.Add(candidate); i++) candidate = name + i.ToString(CultureInfo.InvariantCulture);
        return candidate;
    }

    public static string LayerMethodName(int index, string opType, string nodeName)
    {
        string tail = PascalCase(nodeName);
        if (tail.Length > 40) tail = tail.Substring(tail.Length - 40);
        return $"L{index.ToString("D3", CultureInfo.InvariantCulture)}_{PascalCase(opType)}" + (nodeName.Length > 0 ? "_" + tail : "");
    }

    /// <summary>A layer method name (<see cref="LayerMethodName"/>) with its index replaced (layers renumbered after a fusion).</summary>
    public static string RenumberLayerMethod(string name, int index) =>
        $"L{index.ToString("D3", CultureInfo.InvariantCulture)}{name.Substring(name.IndexOf('_'))}";

    public static bool IsValidIdentifier(string s)
    {
        if (s.Length == 0 || !IsIdentifierStart(s[0]) || s_keywords.Contains(s)) return false;
        foreach (char ch in s)
        {
            if (!IsIdentifierPart(ch)) return false;
        }
        return true;
    }

    public static bool IsValidNamespace(string s)
    {
        foreach (string part in s.Split('.'))
        {
            if (!IsValidIdentifier(part)) return false;
        }
        return true;
    }

    /// <summary>Text safe inside an XML doc comment line (no markup, no line breaks).</summary>
    public static string XmlText(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '&': sb.Append("&amp;"); break;
                // U+2028/U+2029 are not control characters but end a line in C#: inside a comment the rest of the
                // (model-controlled) text would become code (found by RobustnessTests, node names).
                default: sb.Append(char.IsControl(ch) || ch is '\u2028' or '\u2029' ? ' ' : ch); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>A C# string literal.</summary>
    public static string StringLiteral(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                default:
                    if (char.IsControl(ch) || ch > 0x7E) sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static bool IsIdentifierStart(char ch) => ch == '_' || (ch < 128 && char.IsLetter(ch));

    private static bool IsIdentifierPart(char ch) => ch == '_' || (ch < 128 && char.IsLetterOrDigit(ch));
}
