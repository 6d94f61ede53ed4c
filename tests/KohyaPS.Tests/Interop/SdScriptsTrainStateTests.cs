using System.Text;
using KohyaPS.Engine;
using KohyaPS.Engine.Interop;

namespace KohyaPS.Tests.Interop;

public sealed class SdScriptsTrainStateTests
{
    private static SdScriptsTrainState Parse(string json) => SdScriptsTrainState.Parse(Encoding.UTF8.GetBytes(json), "train_state.json");

    [Theory]
    [InlineData("{\"current_epoch\": 3, \"current_step\": 1200}", 3, 1200)] // what json.dump writes
    [InlineData("{\"current_step\":0,\"current_epoch\":0}", 0, 0)]
    [InlineData("\uFEFF{\"current_epoch\": 1, \"current_step\": 9223372036854775807}\n", 1, long.MaxValue)]
    public void ParsesWhatSdScriptsWrites(string json, long epoch, long step)
    {
        var state = Parse(json);
        Assert.Equal((epoch, step), (state.CurrentEpoch, state.CurrentStep));
        Assert.Empty(state.OtherKeys);
    }

    [Fact]
    public void KeepsOtherKeys()
    {
        var state = Parse("{\"current_epoch\": 1, \"current_step\": 2, \"note\": {\"a\": [1, 2]}}");
        Assert.Equal(["note"], state.OtherKeys);
    }

    [Theory]
    [InlineData("{\"current_epoch\": \"3\", \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": 3.0, \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": 3, \"current_step\": 1e3}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": true, \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": null, \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": [3], \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": {}, \"current_step\": 1}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": 3, \"current_step\": 9223372036854775808}", "SdScriptsTrainStateWrongType")]
    [InlineData("{\"current_epoch\": -1, \"current_step\": 1}", "SdScriptsTrainStateNegative")]
    [InlineData("{\"current_epoch\": 1, \"current_step\": -5}", "SdScriptsTrainStateNegative")]
    [InlineData("{\"current_epoch\": 1}", "SdScriptsTrainStateMissingField")]
    [InlineData("{\"current_step\": 1}", "SdScriptsTrainStateMissingField")]
    [InlineData("{}", "SdScriptsTrainStateMissingField")]
    [InlineData("{\"current_epoch\": 1, \"current_step\": 2, \"current_step\": 3}", "SdScriptsTrainStateInvalidJson")]
    [InlineData("{\"current_epoch\": 1, \"current_step\": 2} x", "SdScriptsTrainStateInvalidJson")]
    [InlineData("{\"current_epoch\": 1, \"current_step\": 2", "SdScriptsTrainStateInvalidJson")]
    [InlineData("{\"current_epoch\": 1, /* c */ \"current_step\": 2}", "SdScriptsTrainStateInvalidJson")]
    [InlineData("[1, 2]", "SdScriptsTrainStateInvalidJson")]
    [InlineData("12", "SdScriptsTrainStateInvalidJson")]
    [InlineData("", "SdScriptsTrainStateInvalidJson")]
    [InlineData("{\"current_epoch\": NaN, \"current_step\": 2}", "SdScriptsTrainStateInvalidJson")]
    public void RejectsWhatSdScriptsWouldNotWrite(string json, string errorId)
    {
        var ex = Assert.Throws<KohyaException>(() => Parse(json));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(KohyaErrorKind.InvalidData, ex.Kind);
        Assert.Contains("train_state.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsInvalidUtf8AndOversizedInput()
    {
        byte[] bad = [.. "{\""u8, 0xC3, 0x28, .. "\": 1, \"current_epoch\": 1, \"current_step\": 2}"u8];
        Assert.Equal(InteropErrorIds.TrainStateInvalidJson, Assert.Throws<KohyaException>(() => SdScriptsTrainState.Parse(bad, "x")).ErrorId);
        var big = Encoding.UTF8.GetBytes("{\"current_epoch\": 1, \"current_step\": 2, \"pad\": \"" + new string(' ', SdScriptsTrainState.MaxBytes) + "\"}");
        Assert.Equal(InteropErrorIds.TrainStateInvalidJson, Assert.Throws<KohyaException>(() => SdScriptsTrainState.Parse(big, "x")).ErrorId);
    }
}
