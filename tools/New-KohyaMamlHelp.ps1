<#
.SYNOPSIS
    Compiles help/*.md into MAML (en-US/KohyaPS.dll-Help.xml) for the built module.
.DESCRIPTION
    platyPS is not available from NuGet, so the build makes the MAML itself. Syntax, parameter types,
    positions, pipeline input and aliases come from the built cmdlets (Get-Command), descriptions from
    the markdown. Gaps (a cmdlet without a help file, a parameter without a description) are reported as
    warnings, or fail with -Strict; the Pester help tests fail on them either way.
    Runs in its own pwsh process so the build session never loads the module.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModuleManifest,
    [Parameter(Mandatory)][string] $HelpSource,
    [Parameter(Mandatory)][string] $OutputDirectory,
    [switch] $Strict
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'KohyaHelpMarkdown.psm1') -Force
$module = Import-Module $ModuleManifest -PassThru -Force
$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters

$nsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$nsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$nsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'

New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$writer = [System.Xml.XmlWriter]::Create((Join-Path $OutputDirectory 'KohyaPS.dll-Help.xml'), $settings)

function Write-Paras([string[]] $Paras) {
    $writer.WriteStartElement('maml', 'description', $nsMaml)
    foreach ($p in @($Paras)) { $writer.WriteElementString('maml', 'para', $nsMaml, $p) }
    $writer.WriteEndElement()
}

function Write-Parameter($Help, $Param, [string] $SetPosition, [bool] $Mandatory, [string] $Pipeline) {
    $writer.WriteStartElement('command', 'parameter', $nsCommand)
    $writer.WriteAttributeString('required', $Mandatory.ToString().ToLowerInvariant())
    $writer.WriteAttributeString('variableLength', 'true')
    $writer.WriteAttributeString('globbing', 'false')
    $writer.WriteAttributeString('pipelineInput', $Pipeline)
    $writer.WriteAttributeString('position', $SetPosition)
    $writer.WriteAttributeString('aliases', $(if ($Param.Aliases.Count) { $Param.Aliases -join ', ' } else { 'none' }))
    $writer.WriteElementString('maml', 'name', $nsMaml, $Param.Name)
    Write-Paras $Help.Parameters[$Param.Name]
    $isSwitch = $Param.ParameterType -eq [switch]
    if (-not $isSwitch) {
        $writer.WriteStartElement('command', 'parameterValue', $nsCommand)
        $writer.WriteAttributeString('required', 'true'); $writer.WriteAttributeString('variableLength', 'false')
        $shown = [Nullable]::GetUnderlyingType($Param.ParameterType) ?? $Param.ParameterType
        $writer.WriteString($shown.Name); $writer.WriteEndElement()
    }
    $writer.WriteStartElement('dev', 'type', $nsDev)
    $writer.WriteElementString('maml', 'name', $nsMaml, $Param.ParameterType.FullName)
    $writer.WriteEndElement()
    $writer.WriteElementString('dev', 'defaultValue', $nsDev, $(if ($isSwitch) { 'False' } else { 'None' }))
    $writer.WriteEndElement()
}

function Get-PipelineText($Attr) {
    $kinds = @()
    if ($Attr.ValueFromPipeline) { $kinds += 'ByValue' }
    if ($Attr.ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')
$failures = @()
foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $HelpSource "$($command.Name).md"
    if (-not (Test-Path $file)) { $failures += "$($command.Name): no help file $file"; continue }
    $help = ConvertFrom-KohyaHelpMarkdown -Path $file
    $params = @($command.Parameters.Values | Where-Object { $_.Name -notin $common })
    foreach ($p in $params) { if (-not $help.Parameters[$p.Name]) { $failures += "$($command.Name): parameter -$($p.Name) has no description" } }
    if (-not $help.Synopsis) { $failures += "$($command.Name): no SYNOPSIS" }
    if (-not $help.Description) { $failures += "$($command.Name): no DESCRIPTION" }
    if (-not $help.Examples.Count) { $failures += "$($command.Name): no EXAMPLES" }

    $writer.WriteStartElement('command', 'command', $nsCommand)
    $writer.WriteAttributeString('xmlns', 'maml', $null, $nsMaml)
    $writer.WriteAttributeString('xmlns', 'dev', $null, $nsDev)
    $writer.WriteStartElement('command', 'details', $nsCommand)
    $writer.WriteElementString('command', 'name', $nsCommand, $command.Name)
    $writer.WriteElementString('command', 'verb', $nsCommand, $command.Verb)
    $writer.WriteElementString('command', 'noun', $nsCommand, $command.Noun)
    Write-Paras @($help.Synopsis)
    $writer.WriteEndElement()
    Write-Paras $help.Description

    $writer.WriteStartElement('command', 'syntax', $nsCommand)
    foreach ($set in $command.ParameterSets) {
        $writer.WriteStartElement('command', 'syntaxItem', $nsCommand)
        $writer.WriteElementString('maml', 'name', $nsMaml, $command.Name)
        foreach ($p in @($set.Parameters | Where-Object { $_.Name -notin $common })) {
            $position = if ($p.Position -ge 0) { "$($p.Position)" } else { 'named' }
            $pipeline = if ($p.ValueFromPipeline -or $p.ValueFromPipelineByPropertyName) { Get-PipelineText $p } else { 'False' }
            Write-Parameter $help $command.Parameters[$p.Name] $position $p.IsMandatory $pipeline
        }
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'parameters', $nsCommand)
    foreach ($p in $params) {
        $attrs = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
        $mandatory = [bool]($attrs | Where-Object Mandatory)
        $positioned = $attrs | Where-Object { $_.Position -ge 0 } | Select-Object -First 1
        $position = if ($positioned) { "$($positioned.Position)" } else { 'named' }
        $pipeAttr = $attrs | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } | Select-Object -First 1
        $pipeline = if ($pipeAttr) { Get-PipelineText $pipeAttr } else { 'False' }
        Write-Parameter $help $p $position $mandatory $pipeline
    }
    $writer.WriteEndElement()

    foreach ($pair in @(@('inputTypes', 'inputType', $help.Inputs), @('returnValues', 'returnValue', $help.Outputs))) {
        $writer.WriteStartElement('command', $pair[0], $nsCommand)
        foreach ($type in $pair[2].Keys) {
            $writer.WriteStartElement('command', $pair[1], $nsCommand)
            $writer.WriteStartElement('dev', 'type', $nsDev); $writer.WriteElementString('maml', 'name', $nsMaml, $type); $writer.WriteEndElement()
            Write-Paras $pair[2][$type]
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
    }

    if ($help.Notes) {
        $writer.WriteStartElement('maml', 'alertSet', $nsMaml)
        $writer.WriteStartElement('maml', 'alert', $nsMaml)
        foreach ($n in $help.Notes) { $writer.WriteElementString('maml', 'para', $nsMaml, $n) }
        $writer.WriteEndElement(); $writer.WriteEndElement()
    }

    $writer.WriteStartElement('command', 'examples', $nsCommand)
    foreach ($example in $help.Examples) {
        $writer.WriteStartElement('command', 'example', $nsCommand)
        $writer.WriteElementString('maml', 'title', $nsMaml, "--------- $($example.Title) ---------")
        $writer.WriteElementString('dev', 'code', $nsDev, $example.Code)
        $writer.WriteStartElement('dev', 'remarks', $nsDev)
        foreach ($r in $example.Remarks) { $writer.WriteElementString('maml', 'para', $nsMaml, $r) }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndElement()
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()

$about = Join-Path $HelpSource 'about_KohyaPS.md'
if (-not (Test-Path $about)) { $failures += 'about_KohyaPS.md is missing' }
foreach ($topic in Get-ChildItem $HelpSource -Filter 'about_*.md') {
    Copy-Item $topic.FullName (Join-Path $OutputDirectory ($topic.BaseName + '.help.txt'))
}

if ($failures) {
    if ($Strict) {
        $failures | ForEach-Object { Write-Error $_ -ErrorAction Continue }
        exit 1
    }
    $failures | ForEach-Object { Write-Warning "help: $_" }
}
