using System.Globalization;

namespace KohyaPS.Bench;

/// <summary>
/// How much CPU other processes took while the bench ran: busy time of the whole machine (/proc/stat) minus this
/// process and its waited-for children (/proc/self/stat utime+stime+cutime+cstime), as a share of all CPUs.
/// </summary>
public sealed class CpuMeter
{
    private readonly (long Busy, long Total) _machine0 = Machine();
    private readonly long _self0 = Self();

    /// <summary>Percent of all CPUs' time used by other processes since construction.</summary>
    public double OthersPercent()
    {
        var (busy, total) = Machine();
        long self = Self();
        double elapsed = total - _machine0.Total;
        return elapsed <= 0 ? double.NaN : Math.Max(0, 100 * ((busy - _machine0.Busy) - (self - _self0)) / elapsed);
    }

    /// <summary>Waits until other processes use less than <paramref name="percent"/>% of the CPUs for 3 s in a row, or the time runs out.</summary>
    public static double WaitForIdle(TimeSpan maxWait, double percent, Action<string> log)
    {
        var deadline = DateTime.UtcNow + maxWait;
        int quiet = 0;
        double others = double.NaN;
        bool told = false;
        while (DateTime.UtcNow < deadline)
        {
            var meter = new CpuMeter();
            Thread.Sleep(1000);
            others = meter.OthersPercent();
            quiet = others < percent ? quiet + 1 : 0;
            if (quiet >= 3) return others;
            if (!told && quiet == 0)
            {
                log($"  other processes use {others:0}% of the CPUs; waiting up to {maxWait.TotalSeconds:0} s for them to go below {percent:0}%…");
                told = true;
            }
        }
        return others;
    }

    private static (long Busy, long Total) Machine()
    {
        try
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            long idle = f[3] + (f.Length > 4 ? f[4] : 0);
            long total = f.Take(8).Sum(); // user nice system idle iowait irq softirq steal (guest is inside user)
            return (total - idle, total);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    private static long Self()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // after ")": state(0) ppid … utime(11) stime(12) cutime(13) cstime(14)
            return long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)
                 + long.Parse(f[13], CultureInfo.InvariantCulture) + long.Parse(f[14], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
