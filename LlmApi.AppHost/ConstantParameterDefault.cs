namespace LlmApi.AppHost;

/// <summary>
/// A parameter default that a configuration value (<c>Parameters:NAME</c>) can override, unlike a parameter created
/// with a fixed value. Used for deployment settings such as the image name and the public host.
/// </summary>
internal sealed class ConstantParameterDefault(string value) : ParameterDefault
{
    public override string GetDefaultValue() => value;

    public override void WriteToManifest(Aspire.Hosting.Publishing.ManifestPublishingContext context) =>
        context.Writer.WriteString("value", value);
}
