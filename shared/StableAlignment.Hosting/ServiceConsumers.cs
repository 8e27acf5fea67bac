using System.Reflection;
using MassTransit;

namespace StableAlignment.Hosting;

public static class ServiceConsumers
{
    /// <summary>
    /// Registers every consumer of a service's assembly that has a <see cref="RetryingConsumerDefinition{TConsumer}"/>
    /// there, with that definition: a service lists its consumers once, as the definitions beside them. A consumer
    /// without one (a per-instance temporary endpoint, say) is registered by the service itself.
    /// </summary>
    public static void AddServiceConsumers(this IBusRegistrationConfigurator bus, Assembly assembly)
    {
        foreach (var (consumer, definition) in Definitions(assembly))
        {
            bus.AddConsumer(consumer, definition);
        }
    }

    /// <summary>(consumer, definition) for each concrete retrying definition in the assembly.</summary>
    public static IEnumerable<(Type Consumer, Type Definition)> Definitions(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false }).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            for (var b = type.BaseType; b is not null; b = b.BaseType)
            {
                if (b.IsGenericType && b.GetGenericTypeDefinition() == typeof(RetryingConsumerDefinition<>))
                {
                    yield return (b.GetGenericArguments()[0], type);
                    break;
                }
            }
        }
    }
}
