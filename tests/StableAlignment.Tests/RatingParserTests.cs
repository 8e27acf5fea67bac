using StableAlignment.Contracts;
using StableAlignment.Models;

namespace StableAlignment.Tests;

public sealed class RatingParserTests
{
    [Theory]
    [InlineData("Rating: 7 ### Reason: kind and honest", 7, "kind and honest")]
    [InlineData("  rating:1###reason: harmful  \n", 1, "harmful")]
    [InlineData("Rating: 4 ### Reason: first line\nsecond line", 4, "first line\nsecond line")]
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
    [InlineData("Rating: 6")]
    [InlineData("")]
    public void Anything_else_is_invalid_and_keeps_the_raw_reply(string reply)
    {
        var rating = RatingParser.Parse(RatingAspect.Engagement, reply, "observer");
        Assert.False(rating.IsValid);
        Assert.Null(rating.Score);
        Assert.Equal(reply, rating.RawReply);
    }

    [Fact]
    public void Null_reply_is_invalid_with_empty_raw_text()
    {
        var rating = RatingParser.Parse(RatingAspect.Alignment, null, "m");
        Assert.False(rating.IsValid);
        Assert.Equal(string.Empty, rating.RawReply);
    }
}
