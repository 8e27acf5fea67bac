using StableAlignment.Society;

namespace StableAlignment.Tests;

public sealed class SocietyTests
{
    [Fact]
    public void Bundled_data_has_300_questions_with_ratings_across_the_scale_and_a_held_out_split_by_situation()
    {
        var questions = SocietyData.Questions();
        Assert.True(questions.Count >= 300);
        Assert.All(questions, q => Assert.True(q.Answers.Select(a => a.Rating).Distinct().Count() >= 3));
        Assert.Equal(60, questions.Count(q => q.Heldout));
        Assert.Empty(questions.Where(q => q.Heldout).Select(q => q.Topic).Intersect(questions.Where(q => !q.Heldout).Select(q => q.Topic)));
    }

    [Fact]
    public void Observer_ratings_of_held_out_answers_correlate_with_their_labels()
    {
        var questions = SocietyData.Questions();
        var rater = LocalRater.Train(questions.Where(q => !q.Heldout).SelectMany(q => q.Answers).Select(a => (a.Text, a.Rating)));
        var held = questions.Where(q => q.Heldout).SelectMany(q => q.Answers).ToList();
        var rho = Spearman.Correlation([.. held.Select(a => (double)rater.Rate(a.Text))], [.. held.Select(a => (double)a.Rating)]);
        TestContext.Current.SendDiagnosticMessage($"Spearman on {held.Count} held-out answers: {rho:F3}");
        Console.WriteLine($"Observer Spearman on {held.Count} held-out answers: {rho:F3}");
        Assert.True(rho >= 0.7, $"Spearman {rho:F3} on {held.Count} held-out answers");
    }

    [Fact]
    public void Spearman_handles_ties_and_order()
    {
        Assert.Equal(1.0, Spearman.Correlation([1, 2, 3], [2, 4, 9]), 9);
        Assert.Equal(-1.0, Spearman.Correlation([1, 2, 3], [3, 2, 1]), 9);
        Assert.Equal(0.866, Spearman.Correlation([1, 2, 2], [1, 2, 3]), 3);
    }
}
