using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using StableAlignment.Contracts;
using StableAlignment.Learning;
using static TorchSharp.torch;

namespace StableAlignment.Cli;

/// <summary><c>sa loss</c>: the Stable Alignment loss of given NLLs and ratings, or of each group of a data file under a model.</summary>
public static class LossCommand
{
    public static Command Create(CliOptions cli)
    {
        var nll = new Option<string?>("--nll") { Description = "Length-normalised NLL per response, comma-separated" };
        var ratings = new Option<string?>("--ratings") { Description = "Rating per response, comma-separated" };
        var data = new Option<string?>("--data") { Description = "With --model DIR: compute the NLLs of every group of this data file under the model" };
        var maxLength = new Option<int>("--max-length") { Description = "With --data: tokens per sequence", DefaultValueFactory = _ => 512 };
        var recipe = new RecordOptions<TrainingRecipe>(only: [nameof(TrainingRecipe.Margin), nameof(TrainingRecipe.Ratio), nameof(TrainingRecipe.RatingScale), nameof(TrainingRecipe.MaxFlow)]);
        var command = new Command("loss", "Print the Stable Alignment loss as JSON: of given NLLs and ratings, or (--model DIR --data FILE) of each group under a model")
        {
            nll, ratings, data, maxLength, cli.Model,
        };
        foreach (var option in recipe.Options)
        {
            command.Options.Add(option);
        }

        command.SetAction(p =>
        {
            var r = recipe.Bind(p);
            var options = new LossOptions { Margin = r.Margin, Ratio = r.Ratio, RatingScale = r.RatingScale, MaxFlow = r.MaxFlow };
            return p.GetValue(data) is { } file ? ModelLoss(p.GetValue(cli.Model) ?? "tiny", file, options, p.GetValue(maxLength))
                : p.GetValue(nll) is { } values && p.GetValue(ratings) is { } scores ? Loss(values, scores, options)
                : Usage("sa loss needs --nll and --ratings, or --model DIR and --data FILE.");
        });
        return command;
    }

    /// <summary>
    /// The loss of every group of a data file under a model (all responses, fp32, length-normalised NLLs with the
    /// prompt masked), one JSON line per group: a reference other implementations can be checked against.
    /// </summary>
    public static int ModelLoss(string modelFolder, string dataPath, LossOptions options, int maxLength)
    {
        List<RatedGroup> data;
        LlamaForCausalLM model;
        try
        {
            data = TrainingData.Load(dataPath);
            model = Checkpoints.LoadModel(modelFolder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or NotSupportedException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        var tokenizer = Checkpoints.TokenizerFor(modelFolder);
        model.eval();
        using var _ = no_grad();
        foreach (var group in data)
        {
            using var scope = NewDisposeScope();
            using var batch = SequenceBatch.Encode(tokenizer, group.Query, group.Responses, maxLength, CPU);
            var nll = batch.ResponseNll(model);
            var parts = StableAlignmentLoss.Compute(nll, group.Scores, options);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                query = group.Query, scores = group.Scores, nll = nll.data<float>().ToArray(),
                loss = parts.Loss.item<float>(), sft = parts.Sft.item<float>(), diff = parts.Diff.item<float>(),
            }));
        }

        return 0;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }

    public static int Loss(string nll, string ratings, LossOptions options)
    {
        double[] values;
        int[] scores;
        try
        {
            values = [.. nll.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
            scores = [.. ratings.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            Console.Error.WriteLine("--nll takes numbers and --ratings integers, comma-separated (e.g. --nll 2.0,1.5 --ratings 3,7).");
            return 2;
        }

        if (values.Any(v => !double.IsFinite(v)) || !double.IsFinite(options.RatingScale) || options.RatingScale <= 0 || !double.IsFinite(options.Margin) || !double.IsFinite(options.Ratio))
        {
            Console.Error.WriteLine("--nll values, --margin and --ratio must be finite numbers and --rating-scale positive.");
            return 2;
        }

        if (values.Length != scores.Length || values.Length == 0)
        {
            Console.Error.WriteLine($"{values.Length} NLL values for {scores.Length} ratings.");
            return 2;
        }

        TorchRuntime.Initialize(1);
        var parts = StableAlignmentLoss.Compute(tensor(values, dtype: ScalarType.Float64), scores, options);
        Console.WriteLine(JsonSerializer.Serialize(new { loss = parts.Loss.item<double>(), sft = parts.Sft.item<double>(), diff = parts.Diff.item<double>() }));
        return 0;
    }
}
