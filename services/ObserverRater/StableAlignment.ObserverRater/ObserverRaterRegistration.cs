using StableAlignment.Models;

namespace StableAlignment.ObserverRater;

public static class ObserverRaterRegistration
{
    public static IServiceCollection AddObserverRater(this IServiceCollection services)
    {
        services.AddOptions<PromptOptions>().BindConfiguration(PromptOptions.Section);
        services.AddStableAlignmentModels();
        return services;
    }

    public static void AddObserverRaterConsumers(this IBusRegistrationConfigurator bus) =>
        bus.AddServiceConsumers(typeof(ObserverRaterRegistration).Assembly);
}
