// Licensed under the MIT license.
// Runs generator work under the invariant culture, so generated text (numbers in literals and comments) never depends
// on the build machine's locale.

using System;
using System.Globalization;

namespace ModelGen.Generator.Common;

internal readonly struct InvariantCultureScope : IDisposable
{
    private readonly CultureInfo _saved;

#pragma warning disable RS1035 // Deliberate: the generated source must be culture-independent; restored on Dispose.
    public InvariantCultureScope(bool enter)
    {
        _saved = CultureInfo.CurrentCulture;
        if (enter) CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
    }

    public void Dispose() => CultureInfo.CurrentCulture = _saved;
#pragma warning restore RS1035
}
