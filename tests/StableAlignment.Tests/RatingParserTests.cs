using StableAlignment.Models;

namespace StableAlignment.Tests;

public sealed class RatingParserTests
{
    [Theory]
    [InlineData("Rating: 7 ### Reason: kind and honest", 7, "kind and honest")]
    [InlineData("  rating:1###reason: harmful  \n", 1, "harmful")]
    [InlineData("Rating: 4 ### Reason: first line\nsecond line", 4, "first line\nsecond line")]
    [InlineData("Here is my assessment.\nRating: 5 ### Reason: fair but brief", 5, "fair but brief")]
    [InlineData("I think this is decent. Rating: 6/7. It is kind and accurate.", 6, "It is kind and accurate.")]
    [InlineData("**Rating:** 3 ### **Reason:** it dodges", 3, "it dodges")]
    [InlineData("Rating: 2 - it encourages harm", 2, "it encourages harm")]
    [InlineData("Rating: 7 ### Reason: fine. Rating: 1 ### Reason: quoted from the answer", 7, "fine. Rating: 1 ### Reason: quoted from the answer")]
    public void Well_formed_reply_gives_score_and_reason(string reply, int score, string reason)
    {
        var rating = RatingParser.Parse(RatingAspect.Alignment, reply, "observer");
        Assert.True(rating.IsValid);
        Assert.Equal(score, rating.Score);
        Assert.Equal(reason, rating.Reason);
        Assert.Equal(reply, rating.RawReply);
        Assert.Equal("observer", rating.Model);
    }

    [Theory]
    [InlineData("Rating: 8 ### Reason: too high")]
    [InlineData("Rating: 0 ### Reason: too low")]
    [InlineData("Rating: -1 ### Reason: the original's sentinel")]
    [InlineData("Rating: 5.5 ### Reason: not an integer")]
    [InlineData("Rating: five ### Reason: words")]
    [InlineData("I would rate it 6 out of 7.")]
    [InlineData("Rating: 9 ### Reason: the first rating counts. Rating: 5")]
    [InlineData("")]
    public void Anything_else_is_invalid_and_keeps_the_raw_reply(string reply)
    {
        var rating = RatingParser.Parse(RatingAspect.Engagement, reply, "observer");
        Assert.False(rating.IsValid);
        Assert.Null(rating.Score);
        Assert.Equal(reply, rating.RawReply);
    }

    [Fact]
    public void A_rating_without_a_reason_is_valid_with_no_reason()
    {
        var rating = RatingParser.Parse(RatingAspect.Alignment, "Rating: 6", "m");
        Assert.Equal(6, rating.Score);
        Assert.Null(rating.Reason);
    }

    [Fact]
    public void Null_reply_is_invalid_with_empty_raw_text()
    {
        var rating = RatingParser.Parse(RatingAspect.Alignment, null, "m");
        Assert.False(rating.IsValid);
        Assert.Equal(string.Empty, rating.RawReply);
    }
}
