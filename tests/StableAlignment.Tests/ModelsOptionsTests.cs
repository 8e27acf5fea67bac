using StableAlignment.Models;

namespace StableAlignment.Tests;

public sealed class ModelsOptionsTests
{
    [Fact]
    public void Roles_inherit_the_default_endpoint_and_override_what_they_set()
    {
        var options = new ModelsOptions
        {
            Default = new ModelEndpointOptions { Endpoint = "http://a/v1", Model = "base" },
            Roles = { [ModelRole.Observer] = new ModelEndpointOptions { Model = "judge-ish", Temperature = 0.3 } },
        };

        Assert.Equal("http://a/v1", options.For(ModelRole.Observer).Endpoint);
        Assert.Equal("judge-ish", options.For(ModelRole.Observer).Model);
        Assert.Equal(0.3, options.For(ModelRole.Observer).Temperature);
        Assert.Equal("base", options.For(ModelRole.SocialAgent).Model);
        Assert.Equal(1.0, options.For(ModelRole.SocialAgent).Temperature);
        Assert.Equal(256, options.For(ModelRole.SocialAgent).MaxTokens);
        Assert.Null(options.Problem(ModelRole.SocialAgent));
    }

    [Fact]
    public void Missing_endpoint_is_reported_in_one_line_that_says_how_to_fix_it()
    {
        var problem = new ModelsOptions().Problem(ModelRole.SocialAgent);
        Assert.NotNull(problem);
        Assert.DoesNotContain('\n', problem);
        Assert.Contains("--endpoint", problem);
        Assert.Contains("Models__Default__Endpoint", problem);
    }

    [Fact]
    public void Relative_endpoint_is_rejected()
    {
        var options = new ModelsOptions { Default = new ModelEndpointOptions { Endpoint = "localhost/v1", Model = "m" } };
        Assert.Contains("absolute", options.Problem(ModelRole.Observer));
    }
}
