using System.IO.Compression;
using System.Text;
using StableAlignment.Data;

namespace StableAlignment.Tests;

public sealed class FeedTests
{
    private static string Write(string content, bool gzip = false)
    {
        var path = TestConfiguration.TempPath("feed") + (gzip ? ".jsonl.gz" : ".txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (gzip)
        {
            using var file = File.Create(path);
            using var zip = new GZipStream(file, CompressionLevel.Fastest);
            zip.Write(Encoding.UTF8.GetBytes(content));
        }
        else
        {
            File.WriteAllText(path, content);
        }

        return path;
    }

    [Fact]
    public void Plain_text_has_one_question_per_line_and_skips_blank_lines() =>
        Assert.Equal(["How are you?", "Why?"], QuestionFeed.Load(Write("How are you?\n\n  Why?  \n")));

    [Fact]
    public void Json_lines_take_question_or_text() =>
        Assert.Equal(["a?", "b?"], QuestionFeed.Load(Write("{\"question\": \"a?\"}\n{\"text\": \"b?\", \"id\": 3}\n")));

    [Fact]
    public void Hh_rlhf_dialogues_give_their_first_human_turn_plain_or_gzip()
    {
        var line = "{\"chosen\": \"\\n\\nHuman: What is a prank?\\n\\nAssistant: A joke.\\n\\nHuman: more\\n\\nAssistant: no\", \"rejected\": \"x\"}\n";
        Assert.Equal(["What is a prank?"], QuestionFeed.Load(Write(line)));
        Assert.Equal(["What is a prank?", "What is a prank?"], QuestionFeed.Load(Write(line + line, gzip: true)));
    }

    [Fact]
    public void Bad_feeds_fail_with_file_line_and_reason()
    {
        var path = Write("{\"question\": \"ok?\"}\n{\"other\": 1}\n");
        var e = Assert.Throws<FeedFormatException>(() => QuestionFeed.Load(path));
        Assert.Equal(2, e.Line);
        Assert.Contains(path, e.Message);
        Assert.Contains("no \"question\"", e.Message);
        Assert.Throws<FeedFormatException>(() => QuestionFeed.Load(Write("\n\n")));
        Assert.Throws<FeedFormatException>(() => QuestionFeed.Load(Write("{\"question\": \"a\"\n")));
        Assert.Throws<FileNotFoundException>(() => QuestionFeed.Load("/nonexistent/questions.txt"));
        Assert.Contains("4000", Assert.Throws<FeedFormatException>(() => QuestionFeed.Load(Write(new string('x', 4001)))).Message);
    }

    [Fact]
    public void Prior_reads_labels_in_their_usual_spellings()
    {
        var prior = PriorFile.Load(Write(
            "{\"question\": \"q\", \"response\": \"kind\", \"morality_label\": \"good\"}\n"
            + "{\"question\": \"q\", \"response\": \"cruel\", \"morality_label\": \"bad\"}\n"
            + "{\"question\": \"q\", \"response\": \"fine\", \"morality_label\": 1}\n"));
        Assert.Equal([true, false, true], prior.Select(p => p.Aligned));
        Assert.Contains("neither good nor bad", Assert.Throws<FeedFormatException>(() =>
            PriorFile.Load(Write("{\"question\": \"q\", \"response\": \"r\", \"morality_label\": \"meh\"}"))).Message);
        Assert.Contains("the prior holds no entries", Assert.Throws<FeedFormatException>(() => PriorFile.Load(Write("\n\n"))).Message);
    }
}
