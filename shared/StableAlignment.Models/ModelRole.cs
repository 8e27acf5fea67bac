namespace StableAlignment.Models;

/// <summary>The parts models play; each maps to a provider through configuration (Models:Roles:&lt;Role&gt;).</summary>
public enum ModelRole
{
    SocialAgent,
    Observer,
    Embedding,
    Judge,
}
