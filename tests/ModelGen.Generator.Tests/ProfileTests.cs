// Licensed under the MIT license.
// The x64 profile's table-driven lowering choices that the layer tests reach only through the shapes they happen to use.

using ModelGen.Generator.Targets;
using Xunit;

namespace ModelGen.Generator.Tests;

public class ProfileTests
{
    /// <summary>
    /// Narrow AVX2 channel panels (16 channels) where 24-channel ones leave a partial last block: always when that block
    /// is one vector (8 channels) and the channels fill whole 16-channel panels, on planes up to 13x13 when it is two.
    /// </summary>
    [Theory]
    [InlineData(128, 3136, true)] // 5 x 24 + 8 = 8 x 16, whatever the plane
    [InlineData(80, 784, true)]
    [InlineData(104, 49, false)] // 4 x 24 + 8, but 6 x 16 + 8: no whole 16-channel panels either
    [InlineData(192, 49, false)] // whole 24-channel panels
    [InlineData(160, 169, true)] // 6 x 24 + 16 = 10 x 16 on 13x13
    [InlineData(160, 196, false)] // the same on 14x14
    [InlineData(232, 49, false)] // 9 x 24 + 16 = 14 x 16 + 8
    public void X64_narrows_channel_panels_where_the_wide_ones_leave_a_partial_block(int outChannels, long pixels, bool narrow) =>
        Assert.Equal(narrow, TargetProfile.X64.NarrowsChannelPanels(outChannels, pixels));
}
