using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Converters that refuse text which is not well-formed Unicode (see <see cref="UnicodeText"/>) in every JSON body the
/// API binds: typed requests (their strings), free-form settings (<see cref="JsonElement"/>) and model requests
/// (<see cref="JsonObject"/>); the last two also refuse an object that names a member twice (see <see cref="JsonInput"/>).
/// A refusal is a <see cref="JsonException"/>, which binding turns into a 400.
/// </summary>
internal static class StrictJsonConverters
{
    public static void AddTo(JsonSerializerOptions options)
    {
        options.Converters.Add(new StringConverter());
        options.Converters.Add(new ElementConverter());
        options.Converters.Add(new ObjectConverter());
    }

    private sealed class StringConverter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            string? text;
            try
            {
                text = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                throw UnicodeText.Malformed();
            }

            return text is null || UnicodeText.IsWellFormed(text) ? text : throw UnicodeText.Malformed();
        }

        // Text that entered before input was checked is written with U+FFFD for each lone surrogate rather than
        // failing the whole answer half-way.
        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
            writer.WriteStringValue(UnicodeText.IsWellFormed(value) ? value : UnicodeText.Repaired(value));
    }

    private sealed class ElementConverter : JsonConverter<JsonElement>
    {
        public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var element = JsonElement.ParseValue(ref reader);
            JsonInput.Check(element);
            return element;
        }

        public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);
    }

    private sealed class ObjectConverter : JsonConverter<JsonObject>
    {
        public override JsonObject? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var element = JsonElement.ParseValue(ref reader);
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("The request body must be a JSON object.");
            }

            JsonInput.Check(element);
            return JsonObject.Create(element);
        }

        public override void Write(Utf8JsonWriter writer, JsonObject value, JsonSerializerOptions options) => value.WriteTo(writer, options);
    }
}
