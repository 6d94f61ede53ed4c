namespace KohyaPS.Engine.Data;

/// <summary>A training resolution shared by the images of one bucket.</summary>
public readonly record struct BucketResolution(int Width, int Height) : IComparable<BucketResolution>
{
    public double AspectRatio => (double)Width / Height;

    public int CompareTo(BucketResolution other)
    {
        int c = Width.CompareTo(other.Width);
        return c != 0 ? c : Height.CompareTo(other.Height);
    }

    public override string ToString() => $"{Width}x{Height}";
}

/// <summary>Where one image goes: its bucket's resolution and the size it is scaled to before being cropped to it.</summary>
public readonly record struct BucketChoice(BucketResolution Bucket, int ResizedWidth, int ResizedHeight);

/// <summary>
/// Aspect-ratio bucketing with kohya sd-scripts' semantics.
/// </summary>
/// <remarks>
/// <para>Bucket resolutions (<see cref="Plan"/>): with a maximum area of width×height of the resolution, the square
/// bucket is the largest multiple of the step whose square fits; then for every width from min_bucket_reso to
/// max_bucket_reso in steps, the height is the largest multiple of the step that keeps the area within the
/// maximum (capped at max_bucket_reso), kept when at least min_bucket_reso, in both orientations.</para>
/// <para>Selection (<see cref="Select"/>): an image whose size is itself a bucket keeps it; otherwise it takes the
/// bucket with the nearest aspect ratio (the first one in sorted order on a tie), is scaled to cover it and is
/// cropped. With bucket_no_upscale the planned buckets are not used: an image larger than the maximum area is
/// scaled down to it preserving its aspect ratio (choosing the rounding of width or height that keeps the ratio
/// best), smaller images keep their size, and the bucket is that size rounded down to the step — so no image is
/// ever enlarged. With enable_bucket = false the only bucket is the resolution itself.</para>
/// </remarks>
public static class BucketPlanner
{
    /// <summary>The bucket resolutions the settings allow, sorted by (width, height). Only (W, H) when bucketing is off.</summary>
    public static IReadOnlyList<BucketResolution> Plan(DatasetSettings settings)
    {
        if (!settings.EnableBucket)
            return new[] { new BucketResolution(settings.Width, settings.Height) };

        long area = (long)settings.Width * settings.Height;
        int step = settings.BucketResoSteps;
        var set = new SortedSet<BucketResolution>();
        int square = (int)(ISqrt(area) / step * step);
        if (square > 0)
            set.Add(new BucketResolution(square, square));
        for (int width = settings.MinBucketReso; width <= settings.MaxBucketReso; width += step)
        {
            int height = (int)Math.Min(settings.MaxBucketReso, area / width / step * step);
            if (height >= settings.MinBucketReso)
            {
                set.Add(new BucketResolution(width, height));
                set.Add(new BucketResolution(height, width));
            }
        }
        return set.ToList();
    }

    /// <summary>Assigns every image of the index to a bucket. Throws for an image too small for any bucket.</summary>
    public static BucketAssignment Assign(DatasetIndex index)
    {
        var settings = index.Definition.Settings;
        var planned = Plan(settings);
        var choices = new BucketChoice[index.Count];
        for (int i = 0; i < index.Count; i++)
        {
            var e = index[i];
            choices[i] = Select(e.Width, e.Height, settings, planned);
            if (choices[i].Bucket.Width < 1 || choices[i].Bucket.Height < 1)
                throw new KohyaException("ImageTooSmall", KohyaErrorKind.InvalidData,
                    $"The image '{e.AbsolutePath}' ({e.Width}×{e.Height}) is smaller than one bucket step ({settings.BucketResoSteps} px) "
                    + "and bucket_no_upscale keeps it from being enlarged.", target: e.AbsolutePath)
                {
                    RecommendedAction = "Remove the image, use a smaller bucket_reso_steps, or turn bucket_no_upscale off.",
                };
        }
        return new BucketAssignment(choices);
    }

    /// <summary>The bucket for one image size; <paramref name="planned"/> is <see cref="Plan"/>'s result for the same settings.</summary>
    public static BucketChoice Select(int width, int height, DatasetSettings settings, IReadOnlyList<BucketResolution> planned)
    {
        if (width < 1 || height < 1)
            throw new ArgumentOutOfRangeException(nameof(width), "Image sizes must be positive.");
        double aspect = (double)width / height;
        if (!settings.EnableBucket || !settings.BucketNoUpscale)
        {
            var bucket = Nearest(width, height, aspect, planned);
            var (rw, rh) = ImageLoader.CoverSize(width, height, bucket.Width, bucket.Height);
            return new BucketChoice(bucket, rw, rh);
        }

        int step = settings.BucketResoSteps;
        long maxArea = (long)settings.Width * settings.Height;
        int resizedW = width, resizedH = height;
        if ((long)width * height > maxArea)
        {
            double rw = Math.Sqrt(maxArea * aspect);
            double rh = maxArea / rw;
            int byWidthW = RoundToSteps(rw, step);
            int byWidthH = RoundToSteps(byWidthW / aspect, step);
            int byHeightH = RoundToSteps(rh, step);
            int byHeightW = RoundToSteps(byHeightH * aspect, step);
            double errWidth = byWidthH > 0 ? Math.Abs((double)byWidthW / byWidthH - aspect) : double.PositiveInfinity;
            double errHeight = byHeightH > 0 ? Math.Abs((double)byHeightW / byHeightH - aspect) : double.PositiveInfinity;
            if (errWidth < errHeight)
                (resizedW, resizedH) = (byWidthW, (int)(byWidthW / aspect + 0.5));
            else
                (resizedW, resizedH) = ((int)(byHeightH * aspect + 0.5), byHeightH);
        }
        var own = new BucketResolution(resizedW - resizedW % step, resizedH - resizedH % step);
        return new BucketChoice(own, resizedW, resizedH);
    }

    private static BucketResolution Nearest(int width, int height, double aspect, IReadOnlyList<BucketResolution> planned)
    {
        var exact = new BucketResolution(width, height);
        BucketResolution best = planned[0];
        double bestError = double.PositiveInfinity;
        foreach (var b in planned)
        {
            if (b == exact)
                return b;
            double error = Math.Abs(b.AspectRatio - aspect);
            if (error < bestError)
            {
                best = b;
                bestError = error;
            }
        }
        return best;
    }

    /// <summary>Half-up rounding to an integer, then down to a multiple of the step (kohya's round_to_steps).</summary>
    private static int RoundToSteps(double x, int step)
    {
        int v = (int)(x + 0.5);
        return v - v % step;
    }

    private static long ISqrt(long n)
    {
        long r = (long)Math.Sqrt(n);
        while (r * r > n)
            r--;
        while ((r + 1) * (r + 1) <= n)
            r++;
        return r;
    }
}
