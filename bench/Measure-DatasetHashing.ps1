#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Manifest hashing throughput: New-KohyaDatasetManifest against openssl dgst -sha256 over the same image files.
.DESCRIPTION
    Writes a DreamBooth folder of -Count noise PNGs of -Size x -Size pixels (noise does not compress, so each file is
    about Size*Size*3 bytes, like a photo), reads every file once so all runs see a warm page cache, then times, in
    alternating rounds:
      - New-KohyaDatasetManifest with -ThrottleLimit 1 and with one thread per logical processor (indexing, header
        reads, captions and hashing: what a user waits for, and what every training start and resume does);
      - openssl dgst -sha256 over all files in one process (one core);
      - the same split over one openssl process per logical processor (xargs -P).
    Prints the median time and MB/s of each and the ratios manifest/openssl at equal parallelism.
    The machine should be otherwise idle: the script refuses to start while the 1-minute load average is above
    -MaxLoad unless -Force is given.
.PARAMETER ModuleManifest
    The built module (module/KohyaPS.psd1 by default).
.PARAMETER SummaryPath
    Also write the figures as JSON to this file (what Invoke-Benchmarks gives the report).
.EXAMPLE
    ./bench/Measure-DatasetHashing.ps1 -Count 256 -Size 1024
#>
[CmdletBinding()]
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../module/KohyaPS.psd1'),
    [ValidateRange(1, 100000)] [int] $Count = 256,
    [ValidateRange(16, 8192)] [int] $Size = 1024,
    [ValidateRange(1, 50)] [int] $Rounds = 5,
    [double] $MaxLoad = 1.5,
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'kohyaps-hash-bench'),
    [switch] $Force,
    [switch] $Keep,
    # Also write the figures as JSON here (Invoke-Benchmarks passes it to the report, figure 10).
    [string] $SummaryPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

function Get-Load1 { if (Test-Path /proc/loadavg) { [double]((Get-Content /proc/loadavg) -split ' ')[0] } else { 0 } }
$load = Get-Load1
if ($load -gt $MaxLoad -and -not $Force) { throw "The 1-minute load average is $load (> $MaxLoad): other work would distort the figures. Wait, or use -Force." }
if (-not (Get-Command openssl -ErrorAction SilentlyContinue)) { throw 'openssl is not on PATH: it is the peer of this benchmark.' }

Add-Type -TypeDefinition @'
using System;
using System.IO;
using System.IO.Compression;
public static class KohyaBenchPng
{
    static readonly uint[] Table = MakeTable();
    static uint[] MakeTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++) { uint c = n; for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1; t[n] = c; }
        return t;
    }
    static uint Crc(byte[] type, byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in type) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
    static void Chunk(Stream s, string type, byte[] data)
    {
        var t = System.Text.Encoding.ASCII.GetBytes(type);
        WriteBE(s, (uint)data.Length); s.Write(t); s.Write(data); WriteBE(s, Crc(t, data));
    }
    static void WriteBE(Stream s, uint v) { s.WriteByte((byte)(v >> 24)); s.WriteByte((byte)(v >> 16)); s.WriteByte((byte)(v >> 8)); s.WriteByte((byte)v); }
    /// <summary>An RGB PNG of seeded noise: it does not compress, so the file is about width*height*3 bytes.</summary>
    public static void Write(string path, int width, int height, int seed)
    {
        var rng = new Random(seed);
        var raw = new byte[(width * 3 + 1) * height];
        rng.NextBytes(raw);
        for (int y = 0; y < height; y++) raw[y * (width * 3 + 1)] = 0; // filter type None
        var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        var ihdr = new byte[13];
        ihdr[0] = (byte)(width >> 24); ihdr[1] = (byte)(width >> 16); ihdr[2] = (byte)(width >> 8); ihdr[3] = (byte)width;
        ihdr[4] = (byte)(height >> 24); ihdr[5] = (byte)(height >> 16); ihdr[6] = (byte)(height >> 8); ihdr[7] = (byte)height;
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        using var f = File.Create(path);
        f.Write(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 });
        Chunk(f, "IHDR", ihdr); Chunk(f, "IDAT", packed.ToArray()); Chunk(f, "IEND", Array.Empty<byte>());
    }
}
'@

$folder = Join-Path $WorkPath '1_noise'
New-Item -ItemType Directory -Force $folder | Out-Null
$existing = @(Get-ChildItem $folder -Filter *.png)
if ($existing.Count -ne $Count -or ($existing.Count -gt 0 -and $existing[0].Length -lt $Size * $Size * 3)) {
    Get-ChildItem $folder | Remove-Item
    Write-Host "==> writing $Count noise PNGs of ${Size}x$Size to $folder"
    for ($i = 0; $i -lt $Count; $i++) {
        $stem = Join-Path $folder ('{0:D5}' -f $i)
        [KohyaBenchPng]::Write("$stem.png", $Size, $Size, $i)
        Set-Content "$stem.txt" "noise, sample $i"
    }
}
$files = @(Get-ChildItem $folder -Filter *.png | Sort-Object Name | ForEach-Object FullName)
$bytes = (Get-ChildItem $folder -Filter *.png | Measure-Object Length -Sum).Sum
$cpus = [Environment]::ProcessorCount
Write-Host ("==> {0} files, {1:0.0} MiB; {2} logical processors; load {3}" -f $files.Count, ($bytes / 1MB), $cpus, (Get-Load1))
& openssl dgst -sha256 @files | Out-Null # warm the page cache: every run below reads from memory

Import-Module $ModuleManifest -ErrorAction Stop
$hp = [KohyaPS.Contracts.KohyaHyperparameterSet]@{ Data = @{ Resolution = $Size } }
$ProgressPreference = 'SilentlyContinue'
$null = New-KohyaDatasetManifest -Path $WorkPath -HyperparameterSet $hp # loads the engine; not timed

$chunk = [Math]::Ceiling($files.Count / $cpus)
$cases = [ordered]@{
    'New-KohyaDatasetManifest -ThrottleLimit 1' = { $null = New-KohyaDatasetManifest -Path $WorkPath -HyperparameterSet $hp -ThrottleLimit 1 }
    "New-KohyaDatasetManifest -ThrottleLimit $cpus" = { $null = New-KohyaDatasetManifest -Path $WorkPath -HyperparameterSet $hp -ThrottleLimit $cpus }
    'openssl dgst -sha256 (1 process)' = { & openssl dgst -sha256 @files | Out-Null }
    "openssl dgst -sha256 ($cpus processes)" = { $files | & xargs -P $cpus -n $chunk openssl dgst -sha256 | Out-Null }
}
$times = @{}
foreach ($name in $cases.Keys) { $times[$name] = [Collections.Generic.List[double]]::new() }
for ($round = 1; $round -le $Rounds; $round++) {
    foreach ($name in $cases.Keys) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        & $cases[$name]
        $times[$name].Add($clock.Elapsed.TotalSeconds)
    }
}

function Get-Median([double[]] $values) { $s = @($values | Sort-Object); if ($s.Count % 2) { $s[[int][Math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
$rows = foreach ($name in $cases.Keys) {
    $median = Get-Median $times[$name]
    [pscustomobject]@{ Case = $name; 'Median(s)' = [Math]::Round($median, 3); 'MB/s' = [Math]::Round($bytes / 1MB / $median, 0); Rounds = ($times[$name] | ForEach-Object { '{0:0.000}' -f $_ }) -join ' ' }
}
$rows | Format-Table -AutoSize | Out-String | Write-Host
$keys = @($cases.Keys)
$ratio1 = (Get-Median $times[$keys[2]]) / (Get-Median $times[$keys[0]])
$ratioN = (Get-Median $times[$keys[3]]) / (Get-Median $times[$keys[1]])
Write-Host ('Throughput ratio manifest/openssl, 1 thread vs 1 process:  {0:0.00}' -f $ratio1)
Write-Host ('Throughput ratio manifest/openssl, {0} threads vs {0} processes: {1:0.00}' -f $cpus, $ratioN)
Write-Host ('Load average at the end: {0}' -f (Get-Load1))
if ($SummaryPath) {
    [ordered]@{
        files = $files.Count; mebibytes = [Math]::Round($bytes / 1MB, 1); processors = $cpus; rounds = $Rounds
        manifestOneThreadMBps = $rows[0].'MB/s'; manifestAllThreadsMBps = $rows[1].'MB/s'
        opensslOneProcessMBps = $rows[2].'MB/s'; opensslAllProcessesMBps = $rows[3].'MB/s'
        ratioOne = [Math]::Round($ratio1, 3); ratioAll = [Math]::Round($ratioN, 3)
    } | ConvertTo-Json | Set-Content -Path $SummaryPath
}
if (-not $Keep) { Remove-Item $WorkPath -Recurse -Force }
