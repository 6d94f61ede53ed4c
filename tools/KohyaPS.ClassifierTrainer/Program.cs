// Trains the demo attribute classifier from its recipe (KohyaPS.Engine.Metrics.AttributeClassifierRecipe) and
// writes the weights with the recipe and held-out accuracies as safetensors metadata. The default output is the
// engine's embedded resource; rebuild the engine afterwards.
//
//   dotnet run -c Release --project tools/KohyaPS.ClassifierTrainer -- [output.safetensors]
using KohyaPS.Engine.Metrics;

string repo = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(repo, "KohyaPS.sln")))
    repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("KohyaPS.sln not found above the tool.");
string output = args.Length > 0
    ? Path.GetFullPath(args[0])
    : Path.Combine(repo, "src", "KohyaPS", "KohyaPS.Engine", "Metrics", "Resources", "demo-attribute-classifier.safetensors");

string work = Path.Combine(Path.GetTempPath(), "kohyaps-classifier-" + Environment.ProcessId);
try
{
    var recipe = new AttributeClassifierRecipe();
    Console.WriteLine($"recipe: {recipe}");
    var (classifier, result) = AttributeClassifierTrainer.Train(recipe, work, new Progress(Console.WriteLine));
    using (classifier)
        classifier.Save(output);
    Console.WriteLine($"shape {result.ShapeAccuracy:P2}, colour {result.ColorAccuracy:P2}, {result.Elapsed.TotalSeconds:0} s -> {output} ({new FileInfo(output).Length:N0} bytes)");
}
finally
{
    if (Directory.Exists(work))
        Directory.Delete(work, recursive: true);
}

internal sealed class Progress(Action<string> write) : IProgress<string>
{
    public void Report(string value) => write(value);
}
