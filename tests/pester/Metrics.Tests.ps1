# Measure-KohyaOutput on real PNGs (demo images with their captions as prompts), through real pwsh processes.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
}

Describe 'Measure-KohyaOutput' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-metrics-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'measures two checkpoints side by side: own captions align, shuffled ones do not; FID against the images themselves is 0' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$data = New-KohyaDemoDataset -Path '$Dir/shapes' -Count 40 -Seed 77
`$labels = (Get-Content -Raw (Join-Path `$data 'demo.json') | ConvertFrom-Json).images
`$n = `$labels.Count
`$samples = for (`$i = 0; `$i -lt `$n; `$i++) {
    `$img = `$labels[`$i]
    # 'good' checkpoint: each image under its own caption; 'bad': under the caption of an image with another shape and colour
    [KohyaPS.Contracts.KohyaSample]@{ Path = (Join-Path `$data `$img.file); Prompt = `$img.caption; Seed = `$i; Checkpoint = 'good'; Step = 200 }
    `$other = `$labels | Where-Object { `$_.shape -ne `$img.shape -and `$_.color -ne `$img.color } | Select-Object -First 1
    [KohyaPS.Contracts.KohyaSample]@{ Path = (Join-Path `$data `$img.file); Prompt = `$other.caption; Seed = `$i; Checkpoint = 'bad'; Step = 0 }
}
`$m = `$samples | Measure-KohyaOutput -Reference `$data
foreach (`$row in `$m) { 'ROW {0} {1} {2} {3:0.00} {4:0.00} {5:0.00} {6} {7}' -f `$row.Checkpoint, `$row.Step, `$row.SampleCount, `$row.PromptAlignment, `$row.ShapeAccuracy, `$row.ColorAccuracy, `$row.ReferenceCount, `$row.FeatureExtractor }
'FIDGOOD={0}' -f (`$m[0].Fid -le 1e-6)
'TYPE=' + `$m[0].GetType().FullName
(`$m | Format-Table | Out-String -Width 200) -split "`n" | Where-Object { `$_ -match 'Alignment|good' } | ForEach-Object { 'TABLE ' + `$_.Trim() }
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $rows = @($r.Output | Where-Object { $_ -like 'ROW *' })
        $rows.Count | Should -Be 2
        $good = $rows[0] -split ' '
        $bad = $rows[1] -split ' '
        $good[1..3] | Should -Be @('good', '200', '40')
        [double]$good[4] | Should -BeGreaterOrEqual 0.95
        [double]$bad[4] | Should -BeLessOrEqual 0.05
        [double]$bad[5] | Should -BeLessOrEqual 0.05
        $good[7..8] | Should -Be @('40', 'Demo')
        $r.Output | Should -Contain 'FIDGOOD=True'
        $r.Output | Should -Contain 'TYPE=KohyaPS.Contracts.KohyaOutputMetrics'
        ($r.Output | Where-Object { $_ -like 'TABLE *Alignment*' }) | Should -Match 'Step\s+Samples\s+FID\s+Alignment'
    }

    It 'reports consistency of repeated prompt and seed, and binds plain objects by property name' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$data = New-KohyaDemoDataset -Path '$Dir/shapes' -Count 3 -Seed 5
`$pngs = @(Get-ChildItem (Join-Path `$data '10_shapes') -Filter *.png)
Copy-Item `$pngs[0].FullName '$Dir/again.png'
`$m = @(
    [pscustomobject]@{ Path = `$pngs[0].FullName; Prompt = 'a red star'; Seed = 1 }
    [pscustomobject]@{ Path = '$Dir/again.png'; Prompt = 'a red star'; Seed = 1 }
    [pscustomobject]@{ Path = `$pngs[1].FullName; Prompt = 'a red star'; Seed = 2 }
    [pscustomobject]@{ Path = `$pngs[1].FullName; Prompt = 'a blue cross'; Seed = 3 }
    [pscustomobject]@{ Path = `$pngs[2].FullName; Prompt = 'a blue cross'; Seed = 3 }
) | Measure-KohyaOutput
'CONSISTENCY={0} PAIRS={1} COUNT={2} FID={3}' -f `$m.Consistency, `$m.ConsistencyPairs, `$m.SampleCount, (`$null -eq `$m.Fid)
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        # (red star, 1): identical copies; (blue cross, 3): two different images.
        $r.Output | Should -Contain 'CONSISTENCY=0.5 PAIRS=2 COUNT=5 FID=True'
    }

    It 'gives error ids for missing, undecodable, too few, missing reference and missing weights' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$data = New-KohyaDemoDataset -Path '$Dir/shapes' -Count 2
`$png = @(Get-ChildItem (Join-Path `$data '10_shapes') -Filter *.png)[0].FullName
Set-Content '$Dir/broken.png' 'not an image'
function Id(`$e) { if (`$e) { `$e[0].FullyQualifiedErrorId.Split(',')[0] } else { 'none' } }
`$m = @([pscustomobject]@{ Path = '$Dir/gone.png'; Prompt = 'x' }, [pscustomobject]@{ Path = `$png; Prompt = 'x' }) | Measure-KohyaOutput -ErrorVariable e1 -ErrorAction SilentlyContinue
'MISSING={0} ROWS={1} TARGET={2}' -f (Id `$e1), @(`$m).Count, (`$e1[0].TargetObject -like '*gone.png')
`$m = [pscustomobject]@{ Path = `$png; Prompt = 'x' } | Measure-KohyaOutput -Reference `$data -ErrorVariable e2 -ErrorAction SilentlyContinue
'TOOFEW={0} ROWS={1} FIDNULL={2} SAYS={3}' -f (Id `$e2), @(`$m).Count, (`$null -eq `$m.Fid), (`$e2[0].Exception.Message -match 'at least 2')
try { [pscustomobject]@{ Path = '$Dir/broken.png'; Prompt = 'x' } | Measure-KohyaOutput -ErrorAction Stop } catch { 'UNDECODABLE=' + `$_.FullyQualifiedErrorId.Split(',')[0] }
try { [pscustomobject]@{ Path = `$png; Prompt = 'x' } | Measure-KohyaOutput -Reference '$Dir/nowhere' -ErrorAction Stop } catch { 'NOREF=' + `$_.FullyQualifiedErrorId.Split(',')[0] + ' ' + `$_.CategoryInfo.Category }
try { [pscustomobject]@{ Path = `$png; Prompt = 'x' } | Measure-KohyaOutput -FeatureExtractor InceptionV3 -ErrorAction Stop } catch { 'NOWEIGHTS=' + `$_.FullyQualifiedErrorId.Split(',')[0] }
try { [pscustomobject]@{ Path = `$png; Prompt = 'x' } | Measure-KohyaOutput -FeatureExtractor InceptionV3 -InceptionWeights '$Dir/none.safetensors' -ErrorAction Stop } catch { 'WEIGHTSMISSING=' + `$_.FullyQualifiedErrorId.Split(',')[0] + ' ' + (`$null -ne `$_.ErrorDetails.RecommendedAction) }
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'MISSING=SampleNotFound ROWS=1 TARGET=True'
        $r.Output | Should -Contain 'TOOFEW=FidTooFewSamples ROWS=1 FIDNULL=True SAYS=True'
        $r.Output | Should -Contain 'UNDECODABLE=ImageUndecodable'
        $r.Output | Should -Contain 'NOREF=ReferenceNotFound ObjectNotFound'
        $r.Output | Should -Contain 'NOWEIGHTS=FeatureWeightsRequired'
        $r.Output | Should -Contain 'WEIGHTSMISSING=FeatureWeightsNotFound True'
    }
}
