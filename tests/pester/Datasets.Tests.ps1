# Dataset manifests, comparison, checks and the dataset check of a resume, through real pwsh processes.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'KohyaTestHelpers.psm1') -Force
}

Describe 'Dataset manifests' {
    BeforeEach { $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-datasets-').FullName }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'a manifest of the demo dataset survives JSON export and import; Compare finds a rename and a caption change' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$hp = [KohyaPS.Contracts.KohyaHyperparameterSet]@{ Data = @{ Resolution = 16 } }
`$before = New-KohyaDemoDataset -Path '$Dir/shapes' -Count 8 -Size 16 | New-KohyaDatasetManifest -HyperparameterSet `$hp
"IMAGES=`$(`$before.Summary.ImageCount) SAMPLES=`$(`$before.Summary.SamplesPerEpoch) BUCKETS=`$((`$before.Summary.Buckets.GetEnumerator() | ForEach-Object { "`$(`$_.Key):`$(`$_.Value)" }) -join ',')"
`$before | Export-KohyaDatasetManifest -Path '$Dir/m.json'
`$back = Import-KohyaDatasetManifest '$Dir/m.json'
"SAMEHASH=`$(`$back.ManifestHash -eq `$before.ManifestHash)"
"CLEAN=`$(Test-KohyaDataset '$Dir/shapes' -HyperparameterSet `$hp -Quiet)"
Rename-Item '$Dir/shapes/10_shapes/0002.png' 'moved.png'
Rename-Item '$Dir/shapes/10_shapes/0002.txt' 'moved.txt'
Set-Content '$Dir/shapes/10_shapes/0005.txt' 'a new caption'
New-KohyaDatasetManifest '$Dir/shapes' -HyperparameterSet `$hp | Compare-KohyaDatasetManifest -Reference '$Dir/m.json' -TagShiftThreshold 0.5 |
    ForEach-Object { "CHANGE=`$(`$_.Change) `$(`$_.Name) `$(`$_.PreviousName)".TrimEnd() }
`$summary = Compare-KohyaDatasetManifest -Reference `$back -Difference (New-KohyaDatasetManifest '$Dir/shapes' -HyperparameterSet `$hp) -Summary
"SUMMARY=`$(`$summary.Summary)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'IMAGES=8 SAMPLES=80 BUCKETS=16x16:80'
        $r.Output | Should -Contain 'SAMEHASH=True'
        $r.Output | Should -Contain 'CLEAN=True'
        @($r.Output | Where-Object { $_ -like 'CHANGE=*' }) | Should -Be @('CHANGE=CaptionChanged 10_shapes/0005.png', 'CHANGE=Renamed 10_shapes/moved.png 10_shapes/0002.png')
        # One of eight distinct captions replaced: 1/8 of the tag mass moved, above the default threshold of 0.1.
        $r.Output | Should -Contain 'SUMMARY=1 caption changed, 1 renamed; tag shift 0.125 (threshold 0.1)'
    }

    It 'Import-KohyaDatasetManifest refuses damaged files with specific error ids' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
New-KohyaDemoDataset -Path '$Dir/shapes' -Count 3 -Size 16 | New-KohyaDatasetManifest | Export-KohyaDatasetManifest -Path '$Dir/m.json'
`$json = Get-Content -Raw '$Dir/m.json'
Set-Content '$Dir/syntax.json' '{ "format": '
Set-Content '$Dir/other.json' '{ "source": "/data", "images": [] }'
Set-Content '$Dir/version.json' (`$json -replace '"formatVersion": 1', '"formatVersion": 7')
Set-Content '$Dir/extra.json' (`$json -replace '"repeats": 10,', '"repeats": 10, "weight": 2,')
Set-Content '$Dir/edited.json' (`$json -replace '"width": 16', '"width": 17')
foreach (`$name in 'missing', 'syntax', 'other', 'version', 'extra', 'edited') {
    Import-KohyaDatasetManifest "$Dir/`$name.json" -ErrorAction SilentlyContinue -ErrorVariable problem | Out-Null
    "`$name=`$(`$problem[0].FullyQualifiedErrorId)"
}
Export-KohyaDatasetManifest -InputObject (Import-KohyaDatasetManifest '$Dir/m.json') -Path '$Dir/m.json' -ErrorAction SilentlyContinue -ErrorVariable exists
"exists=`$(`$exists[0].FullyQualifiedErrorId)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'missing=DatasetManifestNotFound,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'syntax=DatasetManifestSyntax,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'other=DatasetManifestFormatUnknown,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'version=DatasetManifestVersionUnsupported,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'extra=DatasetManifestInvalid,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'edited=DatasetManifestHashMismatch,KohyaPS.Commands.Commands.ImportKohyaDatasetManifestCommand'
        $r.Output | Should -Contain 'exists=DatasetManifestFileExists,KohyaPS.Commands.Commands.ExportKohyaDatasetManifestCommand'
    }

    It 'Test-KohyaDataset reports each problem with its id and -Quiet says whether it can train' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$null = New-KohyaDemoDataset -Path '$Dir/shapes' -Count 4 -Size 32
Copy-Item '$Dir/shapes/10_shapes/0001.png' '$Dir/shapes/10_shapes/copy.png'
Set-Content '$Dir/shapes/10_shapes/copy.txt' 'a copy'
Set-Content '$Dir/shapes/10_shapes/broken.png' 'no picture here'
Set-Content '$Dir/shapes/10_shapes/broken.txt' 'broken'
New-Item '$Dir/shapes/10_shapes/empty.png' -ItemType File | Out-Null
Set-Content '$Dir/shapes/10_shapes/empty.txt' 'empty'
Set-Content '$Dir/shapes/10_shapes/clip.gif' 'GIF89a'
Test-KohyaDataset '$Dir/shapes' | ForEach-Object { "FINDING=`$(`$_.Severity) `$(`$_.ErrorId) `$(`$_.Path) `$(`$_.RelatedPath)".TrimEnd() }
"QUIET=`$(Test-KohyaDataset '$Dir/shapes' -Quiet)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        @($r.Output | Where-Object { $_ -like 'FINDING=*' }) | Should -Be @(
            'FINDING=Error ImageUndecodable 10_shapes/broken.png'
            'FINDING=Warning UnsupportedImageFormat 10_shapes/clip.gif'
            'FINDING=Warning DuplicateImage 10_shapes/copy.png 10_shapes/0001.png'
            'FINDING=Error ZeroByteFile 10_shapes/empty.png')
        $r.Output | Should -Contain 'QUIET=False'
    }
}

Describe 'The dataset check of Resume-KohyaTraining' {
    BeforeEach {
        $script:Dir = [IO.Directory]::CreateTempSubdirectory('kohya-dsresume-').FullName
        $script:Config = New-KohyaTestConfig -Path (Join-Path $Dir 'fast.yaml') -SaveEvery 0
    }
    AfterEach { Remove-Item $Dir -Recurse -Force -ErrorAction SilentlyContinue }

    It 'a changed caption is refused with DatasetChanged, then accepted with -AcceptDatasetChanges and recorded in the lineage' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$null = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 3 -OutputPath '$Dir/run' -ErrorAction Stop
Set-Content '$Dir/run/dataset/10_shapes/0007.txt' 'a grey cloud on a blue background'
try { Resume-KohyaTraining -Path '$Dir/run' -Latest -MaxSteps 5 -ErrorAction Stop | Out-Null; 'NOT REFUSED' }
catch { "ERRORID=`$(`$_.FullyQualifiedErrorId)"; "MESSAGE=`$(`$_.Exception.Message -replace '\r?\n', ' | ')" }
"STEPS=`$((Get-KohyaCheckpoint -Path '$Dir/run' | ForEach-Object Step) -join ',')"
`$result = Resume-KohyaTraining -Path '$Dir/run' -Latest -MaxSteps 5 -AcceptDatasetChanges -WarningVariable warned -WarningAction SilentlyContinue
"STATUS=`$(`$result.Status) FINAL=`$(`$result.FinalStep)"
"WARNED=`$(@(`$warned | Where-Object { "`$_" -like 'The dataset changed since checkpoint*' }).Count)"
`$segment = (Get-KohyaCheckpoint -Path '$Dir/run' -Latest).Lineage.Segments[-1]
`$segment.Overrides | ForEach-Object { "OVERRIDE=`$_" }
"SEGMENTWARNED=`$(@(`$segment.Warnings | Where-Object { `$_ -like 'The dataset changed since checkpoint*' }).Count)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        ($r.Output | Where-Object { $_ -like 'ERRORID=*' }) | Should -Match '^ERRORID=DatasetChanged,'
        ($r.Output | Where-Object { $_ -like 'MESSAGE=*' }) | Should -Match "since checkpoint 'run-s00000003': 1 caption changed\. \|   CaptionChanged 10_shapes/0007\.png: "
        $r.Output | Should -Contain 'STEPS=3'
        $r.Output | Should -Contain 'STATUS=Completed FINAL=5'
        $r.Output | Should -Contain 'WARNED=1'
        $r.Output | Should -Contain 'OVERRIDE=Training.MaxSteps: 3 -> 5'
        ($r.Output | Where-Object { $_ -like 'OVERRIDE=Dataset:*' }) | Should -Match '^OVERRIDE=Dataset: 1 caption changed \(manifest [0-9a-f]{12} -> [0-9a-f]{12}\), accepted with -AcceptDatasetChanges$'
        $r.Output | Should -Contain 'SEGMENTWARNED=1'
    }

    It 'renamed files are accepted and the resumed weights equal a run that never stopped' {
        $r = Invoke-KohyaChild @"
Import-Module `$env:KOHYA_MODULE_MANIFEST -ErrorAction Stop
`$ErrorActionPreference = 'Stop'
`$straight = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 6 -OutputPath '$Dir/straight'
`$null = Invoke-KohyaTraining -ConfigPath '$Config' -Demo -MaxSteps 3 -OutputPath '$Dir/split'
Get-ChildItem '$Dir/split/dataset/10_shapes' | Rename-Item -NewName { 'renamed-' + `$_.Name }
`$resumed = Resume-KohyaTraining -Path '$Dir/split' -Latest -MaxSteps 6 -WarningVariable warned -WarningAction SilentlyContinue
"STATUS=`$(`$resumed.Status) FINAL=`$(`$resumed.FinalStep)"
"RENAMEWARNING=`$(@(`$warned | Where-Object { "`$_" -like '64 image(s) were renamed or moved*' }).Count)"
"STRAIGHT=`$(`$straight.LatestCheckpoint)"
"RESUMED=`$(`$resumed.LatestCheckpoint)"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'STATUS=Completed FINAL=6'
        $r.Output | Should -Contain 'RENAMEWARNING=1'
        $straight = ($r.Output | Where-Object { $_ -like 'STRAIGHT=*' }) -replace '^STRAIGHT=', ''
        $resumed = ($r.Output | Where-Object { $_ -like 'RESUMED=*' }) -replace '^RESUMED=', ''
        Get-SafetensorsDataHash (Join-Path $resumed 'model.safetensors') | Should -Be (Get-SafetensorsDataHash (Join-Path $straight 'model.safetensors'))
        Get-SafetensorsDataHash (Join-Path $resumed 'optimizer.safetensors') | Should -Be (Get-SafetensorsDataHash (Join-Path $straight 'optimizer.safetensors'))
    }
}
