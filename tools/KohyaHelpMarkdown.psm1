# Reads the cmdlet help kept as markdown under help/ (one file per cmdlet). Shared by the MAML
# compiler (tools/New-KohyaMamlHelp.ps1) and the help tests, so both see the same structure.
#
# Format:  # <Cmdlet-Name>
#          ## SYNOPSIS / ## DESCRIPTION / ## NOTES        paragraphs
#          ## PARAMETERS   ### -Name      paragraphs
#          ## INPUTS / ## OUTPUTS   ### <type name>  paragraphs
#          ## EXAMPLES     ### Example N: title, a ```powershell block, remark paragraphs;
#                          a line `<!-- no-run: reason -->` marks an example tests must not execute.

function ConvertFrom-KohyaHelpMarkdown {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Path)

    $help = [ordered]@{
        Name = $null; Synopsis = ''; Description = @(); Notes = @()
        Parameters = [ordered]@{}; Inputs = [ordered]@{}; Outputs = [ordered]@{}; Examples = [System.Collections.Generic.List[object]]::new()
        Path = $Path
    }
    $section = $null; $item = $null; $buffer = [System.Collections.Generic.List[string]]::new()
    $inCode = $false; $code = $null

    $flush = {
        $paras = @(($buffer -join "`n") -split "\n\s*\n" | ForEach-Object { ($_ -replace '\s*\n\s*', ' ').Trim() } | Where-Object { $_ })
        $buffer.Clear()
        switch ($section) {
            'SYNOPSIS' { if ($paras) { $help.Synopsis = $paras -join ' ' } }
            'DESCRIPTION' { $help.Description += $paras }
            'NOTES' { $help.Notes += $paras }
            'PARAMETERS' { if ($item) { $help.Parameters[$item] = @($help.Parameters[$item]) + $paras | Where-Object { $_ } } }
            'INPUTS' { if ($item) { $help.Inputs[$item] = @($help.Inputs[$item]) + $paras | Where-Object { $_ } } }
            'OUTPUTS' { if ($item) { $help.Outputs[$item] = @($help.Outputs[$item]) + $paras | Where-Object { $_ } } }
            'EXAMPLES' { if ($help.Examples.Count) { $help.Examples[-1].Remarks += $paras } }
        }
    }

    foreach ($line in [System.IO.File]::ReadAllLines($Path)) {
        if ($inCode) {
            if ($line -match '^```\s*$') { $inCode = $false; $help.Examples[-1].Code = ($code -join "`n").Trim(); continue }
            $code.Add($line); continue
        }
        if ($line -match '^# (\S+)\s*$' -and -not $help.Name) { $help.Name = $Matches[1]; continue }
        if ($line -match '^## (.+?)\s*$') { & $flush; $section = $Matches[1].ToUpperInvariant(); $item = $null; continue }
        if ($line -match '^### (.+?)\s*$') {
            & $flush
            $heading = $Matches[1]
            switch ($section) {
                'PARAMETERS' { $item = $heading.TrimStart('-'); $help.Parameters[$item] = @() }
                'INPUTS' { $item = $heading; $help.Inputs[$item] = @() }
                'OUTPUTS' { $item = $heading; $help.Outputs[$item] = @() }
                'EXAMPLES' { $help.Examples.Add([pscustomobject]@{ Title = $heading; Code = ''; Remarks = @(); Runnable = $true; Reason = $null }) }
            }
            continue
        }
        if ($section -eq 'EXAMPLES' -and $line -match '^```') { & $flush; $inCode = $true; $code = [System.Collections.Generic.List[string]]::new(); continue }
        if ($section -eq 'EXAMPLES' -and $line -match '^<!--\s*no-run:\s*(.+?)\s*-->') {
            $help.Examples[-1].Runnable = $false; $help.Examples[-1].Reason = $Matches[1]; continue
        }
        $buffer.Add($line)
    }
    & $flush
    [pscustomobject]$help
}

Export-ModuleMember -Function ConvertFrom-KohyaHelpMarkdown
