# Pester assertions for KohyaPS runs, shipped inside the module (NestedModules of KohyaPS.psd1):
#   Should -BeValidKohyaCheckpoint            a checkpoint (or every checkpoint of a run folder) passes Test-KohyaCheckpoint
#   Should -HaveKohyaLossBelow <x> [-AfterStep n]   every logged loss after step n (default: the last step) is below x
#   Should -MatchKohyaDataset <manifest>      a dataset folder (or manifest) has no change against a manifest or checkpoint
# They are registered with Pester's Add-ShouldOperator when the module is imported after Pester; when Pester
# is imported later, call Register-KohyaShouldOperator once (registering again is harmless).

function Get-KohyaAssertionPath([object] $Value) {
    $v = if ($Value -is [psobject]) { $Value.PSObject.BaseObject } else { $Value }
    if ($v -is [string]) { return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($v) }
    if ($v -is [IO.FileSystemInfo]) { return $v.FullName }
    foreach ($name in 'Path', 'OutputPath', 'RunPath') {
        if ($Value.PSObject.Properties[$name] -and $Value.$name) { return [string]$Value.$name }
    }
    $null
}

function Format-KohyaBecause([string] $Because) { if ($Because) { " because $Because," } else { '' } }

function Assert-KohyaValidCheckpoint {
    <# Pester operator BeValidKohyaCheckpoint: the checkpoint passes Test-KohyaCheckpoint (a run folder: every checkpoint does). #>
    param($ActualValue, [switch] $Negate, [string] $Because)
    $results = @()
    $v = if ($ActualValue -is [psobject]) { $ActualValue.PSObject.BaseObject } else { $ActualValue }
    if ($v -is [KohyaPS.Contracts.KohyaCheckpointTestResult]) { $results = @($v) }
    else {
        $path = Get-KohyaAssertionPath $ActualValue
        if (-not $path -or -not (Test-Path -LiteralPath $path)) {
            return [pscustomobject]@{ Succeeded = [bool]$Negate; FailureMessage = "Expected a KohyaPS checkpoint,$(Format-KohyaBecause $Because) but '$path' does not exist." }
        }
        $checkpoints = if (Test-Path -LiteralPath (Join-Path $path 'checkpoints')) { @(Get-KohyaCheckpoint -Path $path | ForEach-Object Path) } else { @($path) }
        if ($checkpoints.Count -eq 0) {
            return [pscustomobject]@{ Succeeded = [bool]$Negate; FailureMessage = "Expected valid KohyaPS checkpoints in the run '$path',$(Format-KohyaBecause $Because) but it has none." }
        }
        try { $results = @(Test-KohyaCheckpoint -LiteralPath $checkpoints -ErrorAction Stop) }
        catch {
            return [pscustomobject]@{ Succeeded = [bool]$Negate; FailureMessage = "Expected a valid KohyaPS checkpoint,$(Format-KohyaBecause $Because) but '$path' could not be tested: $($_.Exception.Message)" }
        }
    }
    $bad = @($results | Where-Object { -not $_.IsValid })
    $succeeded = $bad.Count -eq 0
    if ($Negate) { $succeeded = -not $succeeded }
    $message = $null
    if (-not $succeeded) {
        if ($Negate) {
            $message = "Expected $(($results | ForEach-Object Name) -join ', ') not to be a valid KohyaPS checkpoint,$(Format-KohyaBecause $Because) but every check passed."
        }
        else {
            $lines = foreach ($r in $bad) {
                $failed = @($r.Checks | Where-Object { "$($_.Status)" -eq 'Fail' })
                "$($r.Name): $($failed.Count) check(s) failed: " + (($failed | ForEach-Object { "$($_.Name) [$($_.ErrorId)] $($_.Message)" }) -join '; ')
            }
            $message = "Expected a valid KohyaPS checkpoint,$(Format-KohyaBecause $Because) but " + ($lines -join ' | ')
        }
    }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

function Read-KohyaLossRecords([string] $Run) {
    # One JSON object per optimizer step in logs/train.jsonl; a later line for the same step (a resumed segment
    # that trained it again) supersedes an earlier one. To be replaced by Get-KohyaTrainingLog when it ships.
    $log = Join-Path $Run 'logs/train.jsonl'
    if (-not (Test-Path -LiteralPath $log)) { return $null }
    $byStep = [Collections.Generic.SortedDictionary[long, double]]::new()
    foreach ($line in [IO.File]::ReadLines($log)) {
        if (-not $line.StartsWith('{')) { continue }
        try { $doc = [Text.Json.JsonDocument]::Parse($line) } catch { continue } # a torn last line
        try {
            $root = $doc.RootElement
            $step = $root.GetProperty('step').GetInt64()
            $lossElement = $root.GetProperty('loss')
            $loss = if ($lossElement.ValueKind -eq [Text.Json.JsonValueKind]::Number) { $lossElement.GetDouble() } else { [double]::Parse($lossElement.GetString(), [Globalization.CultureInfo]::InvariantCulture) }
            $byStep[$step] = $loss
        }
        finally { $doc.Dispose() }
    }
    $byStep
}

function Assert-KohyaLossBelow {
    <# Pester operator HaveKohyaLossBelow: every loss logged after -AfterStep (default: the last logged step only) is below the limit. #>
    param($ActualValue, $ExpectedValue, [long] $AfterStep = -1, [switch] $Negate, [string] $Because)
    $run = Get-KohyaAssertionPath $ActualValue
    $limit = [double]$ExpectedValue
    $records = if ($run) { Read-KohyaLossRecords $run } else { $null }
    if ($null -eq $records -or $records.Count -eq 0) {
        return [pscustomobject]@{ Succeeded = $false; FailureMessage = "Expected the run '$run' to have a loss log (logs/train.jsonl),$(Format-KohyaBecause $Because) but it has none." }
    }
    $steps = [long[]]@($records.Keys)
    $from = if ($AfterStep -ge 0) { $AfterStep } else { $steps[-1] - 1 }
    $considered = @($steps | Where-Object { $_ -gt $from })
    if ($considered.Count -eq 0) {
        return [pscustomobject]@{ Succeeded = $false; FailureMessage = "Expected losses logged after step $from in '$run',$(Format-KohyaBecause $Because) but the log ends at step $($steps[-1])." }
    }
    $above = @($considered | Where-Object { -not ($records[$_] -lt $limit) }) # NaN counts as not below
    $below = @($considered | Where-Object { $records[$_] -lt $limit })
    $succeeded = $above.Count -eq 0
    if ($Negate) { $succeeded = $below.Count -eq 0 }
    $message = $null
    $inv = [Globalization.CultureInfo]::InvariantCulture
    $show = { param($list) (($list | Select-Object -First 10 | ForEach-Object { 'step {0}: {1}' -f $_, $records[$_].ToString('G6', $inv) }) -join ', ') + $(if ($list.Count -gt 10) { ", … ($($list.Count) in all)" }) }
    $range = if ($AfterStep -ge 0) { "after step $AfterStep (steps $($considered[0])-$($considered[-1]))" } else { "at the last step ($($considered[-1]))" }
    if (-not $succeeded) {
        $message = if ($Negate) {
            "Expected no loss below $($limit.ToString($inv)) $range,$(Format-KohyaBecause $Because) but found $($below.Count): $(& $show $below)."
        }
        else {
            "Expected every loss $range to be below $($limit.ToString($inv)),$(Format-KohyaBecause $Because) but $($above.Count) of $($considered.Count) were not: $(& $show $above)."
        }
    }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

function Assert-KohyaDatasetMatch {
    <# Pester operator MatchKohyaDataset: the dataset (folder or manifest) has no change against the expected manifest (a manifest, manifest file, checkpoint folder or checkpoint). #>
    param($ActualValue, $ExpectedValue, [switch] $Negate, [string] $Because)
    $actual = if ($ActualValue -is [psobject]) { $ActualValue.PSObject.BaseObject } else { $ActualValue }
    $expected = if ($ExpectedValue -is [psobject]) { $ExpectedValue.PSObject.BaseObject } else { $ExpectedValue }
    if ($actual -isnot [KohyaPS.Contracts.KohyaDatasetManifest]) {
        $folder = Get-KohyaAssertionPath $ActualValue
        $hp = $null
        if ($expected -is [KohyaPS.Contracts.KohyaCheckpointInfo]) { $hp = $expected.HyperparameterSet }
        elseif ($expected -is [string]) {
            $yaml = Join-Path (Get-KohyaAssertionPath $expected) 'hyperparameters.yaml'
            if (Test-Path -LiteralPath $yaml) { $hp = Import-KohyaHyperparameterSet -Path $yaml }
        }
        $actual = if ($hp) { New-KohyaDatasetManifest -Path $folder -HyperparameterSet $hp -ErrorAction Stop } else { New-KohyaDatasetManifest -Path $folder -ErrorAction Stop }
    }
    $comparison = Compare-KohyaDatasetManifest -Reference $ExpectedValue -Difference $actual -Summary -ErrorAction Stop
    $succeeded = $comparison.IsIdentical
    if ($Negate) { $succeeded = -not $succeeded }
    $message = $null
    if (-not $succeeded) {
        $message = if ($Negate) {
            "Expected the dataset to differ from the manifest,$(Format-KohyaBecause $Because) but it matches (manifest hash $($comparison.ReferenceHash))."
        }
        else {
            $changes = @($comparison.Changes)
            "Expected the dataset to match the manifest,$(Format-KohyaBecause $Because) but $($changes.Count) change(s) were found: " +
                (($changes | Select-Object -First 10 | ForEach-Object {
                    if ("$($_.Change)" -in 'CaptionChanged', 'PreprocessingChanged') { "$_ ('$($_.Reference)' -> '$($_.Difference)')" } else { "$_" }
                }) -join '; ') + $(if ($changes.Count -gt 10) { '; …' })
        }
    }
    [pscustomobject]@{ Succeeded = $succeeded; FailureMessage = $message }
}

function Register-KohyaShouldOperator {
    <#
    .SYNOPSIS
        Registers the KohyaPS Pester assertions: Should -BeValidKohyaCheckpoint, -HaveKohyaLossBelow, -MatchKohyaDataset.
    .DESCRIPTION
        Importing KohyaPS registers them when Pester is already loaded. Call this after importing Pester when
        KohyaPS was imported first. Registering again is harmless. Returns nothing; fails when Pester is not loaded.
    .EXAMPLE
        Import-Module Pester; Register-KohyaShouldOperator
        './run' | Should -HaveKohyaLossBelow 0.5 -AfterStep 100
    #>
    [CmdletBinding()]
    param()
    if (-not (Get-Module Pester)) {
        $record = [Management.Automation.ErrorRecord]::new([InvalidOperationException]::new('Pester is not loaded: Import-Module Pester (5.x) first.'),
            'PesterNotLoaded', [Management.Automation.ErrorCategory]::ObjectNotFound, 'Pester')
        $PSCmdlet.ThrowTerminatingError($record)
    }
    Pester\Add-ShouldOperator -Name BeValidKohyaCheckpoint -Test ${function:Assert-KohyaValidCheckpoint} -InternalName Assert-KohyaValidCheckpoint
    Pester\Add-ShouldOperator -Name HaveKohyaLossBelow -Test ${function:Assert-KohyaLossBelow} -InternalName Assert-KohyaLossBelow
    Pester\Add-ShouldOperator -Name MatchKohyaDataset -Test ${function:Assert-KohyaDatasetMatch} -InternalName Assert-KohyaDatasetMatch
}

if (Get-Module Pester) { Register-KohyaShouldOperator }

Export-ModuleMember -Function Register-KohyaShouldOperator
