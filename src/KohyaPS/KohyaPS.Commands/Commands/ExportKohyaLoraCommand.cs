using System.Management.Automation;
using System.Runtime.CompilerServices;
using KohyaPS.Commands.Common;
using KohyaPS.Contracts;
using KohyaPS.Engine.Interop;
using KohyaPS.Engine.LoraExport;

namespace KohyaPS.Commands.Commands;

/// <summary>
/// Writes a kohya-format LoRA .safetensors from a checkpoint: its LoRA weights as they are, or a LoRA of the
/// given rank extracted from a full fine-tune. Emits the file's description, read back and hash-checked.
/// </summary>
[Cmdlet(VerbsData.Export, "KohyaLora", SupportsShouldProcess = true)]
[OutputType(typeof(KohyaLoraInfo))]
public sealed class ExportKohyaLoraCommand : KohyaAsyncCmdlet
{
    /// <summary>The checkpoint folder; binds the Path of checkpoints and test results from the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("CheckpointPath")]
    public string Path { get; set; } = "";

    /// <summary>The LoRA file to write (.safetensors).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string OutputPath { get; set; } = "";

    /// <summary>Rank of a LoRA extracted from a full fine-tune.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int Rank { get; set; } = 8;

    /// <summary>Element type of the LoRA weights.</summary>
    [Parameter]
    [ValidateSet("Float16", "BFloat16", "Float32")]
    public string Dtype { get; set; } = "Float16";

    /// <summary>ss_output_name; default: the output file's name.</summary>
    [Parameter]
    public string? Name { get; set; }

    /// <summary>modelspec.title.</summary>
    [Parameter]
    public string? Title { get; set; }

    /// <summary>Replace an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string checkpoint = ResolveFileSystemPath(Path);
        string output = ResolveFileSystemPath(OutputPath);
        if (!ShouldProcess(output, $"Export the LoRA of '{checkpoint}'"))
            return;
        try
        {
            var info = RunWithProgress((report, token) =>
            {
                report(new ProgressRecord(ProgressRecords.CheckActivityId, "Export-KohyaLora", $"Exporting {System.IO.Path.GetFileName(checkpoint)}"));
                return Export(checkpoint, output, Rank, Dtype, Name, Title, Force, token);
            });
            WriteObject(info);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteEngineError(ex, checkpoint);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KohyaLoraInfo Export(string checkpoint, string output, int rank, string dtype, string? name, string? title, bool force, CancellationToken token) =>
        CheckpointLoraExport.Export(new LoraExportRequest
        {
            CheckpointPath = checkpoint,
            OutputPath = output,
            Rank = rank,
            Dtype = Enum.Parse<KohyaLoraSaveDtype>(dtype, ignoreCase: true),
            OutputName = name,
            Title = title,
            Overwrite = force,
        }, token);
}
