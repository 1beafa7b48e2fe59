namespace LlmApi.Web.Components.Controls;

/// <summary>One bar of a chart: its label, its value, and the words shown on hover and read by screen readers.</summary>
public sealed record ChartBar(string Label, long Value, string Detail);
