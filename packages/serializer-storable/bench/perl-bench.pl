#!/usr/bin/perl
# Perl's own Storable on the data the Node benchmark uses, as a peer that times one case when asked, so the Node
# benchmark can put each Perl window right next to the Node window it is compared with (this machine's speed moves
# by 2x within seconds; windows minutes apart compare the machine, not the code).
# Usage: perl-bench.pl <name>=<image file> ...
#   Thaws each image once to get the value. Then reads commands from stdin, one per line,
#   "<case> <name> <seconds>" with case freeze, nfreeze, thawNative or thawNetwork, and answers each with the
#   case's operations per second on a line of its own. "bytes <name>" answers the nfreeze image's length.
use strict;
use warnings;
use Storable qw(freeze nfreeze thaw);
use Time::HiRes qw(time);

sub rate {
  my ( $secs, $fn ) = @_;
  my ( $n, $batch, $t0 ) = ( 0, 1, time );
  my $el = 0;
  while ( $el < $secs ) {
    $fn->() for 1 .. $batch;
    $n += $batch;
    $batch *= 2 if $batch < 4096;
    $el = time - $t0;
  }
  return $n / $el;
}
my %data;
for my $arg (@ARGV) {
  my ( $name, $file ) = split /=/, $arg, 2;
  open my $fh, '<:raw', $file or die "$file: $!";
  my $img = do { local $/; <$fh> };
  my $v   = thaw($img);
  $data{$name} = { v => $v, nat => freeze($v), net => nfreeze($v) };
}
$| = 1;
while ( my $line = <STDIN> ) {
  my ( $case, $name, $secs ) = split ' ', $line;
  my $d = $data{$name} or die "perl-bench.pl: no data named $name\n";
  if ( $case eq 'bytes' ) { print length( $d->{net} ), "\n"; next; }
  my $v   = $d->{v};
  my $nat = $d->{nat};
  my $net = $d->{net};
  my %fn  = (
    freeze      => sub { freeze($v) },
    nfreeze     => sub { nfreeze($v) },
    thawNative  => sub { thaw($nat) },
    thawNetwork => sub { thaw($net) },
  );
  my $fn = $fn{$case} or die "perl-bench.pl: no case $case\n";
  rate( $secs / 4, $fn );    # warm-up, as the Node side's
  print rate( $secs, $fn ), "\n";
}
