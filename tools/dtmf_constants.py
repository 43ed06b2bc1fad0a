import math, cmath
fs=8000; N=40
freqs=[697,770,852,941,1209,1336,1477,1633]
b1=-2*math.cos(2*math.pi*400/fs); a1=-2*0.8*math.cos(2*math.pi*800/fs); a2=0.64
def H2(f):
    z=cmath.exp(-1j*2*math.pi*f/fs)
    return abs((1+b1*z+z*z)/(1+a1*z+a2*z*z))**2
def fl(x): return "%.9ef" % x
print("#define MD_DTMF_HP_B1 (%s)" % fl(b1))
print("#define MD_DTMF_HP_A1 (%s)" % fl(a1))
print("#define MD_DTMF_HP_A2 (%s)" % fl(a2))
for name, fn in [("goertzel_coef", lambda f: 2*math.cos(2*math.pi*f/fs)),
                 ("cos_w", lambda f: math.cos(2*math.pi*f/fs)),
                 ("sin_w", lambda f: math.sin(2*math.pi*f/fs)),
                 ("rot_re", lambda f: math.cos(2*math.pi*f*N/fs)),
                 ("rot_im", lambda f: math.sin(2*math.pi*f*N/fs)),
                 ("hp_gain", H2)]:
    print("static const float md_dtmf_%s[MD_DTMF_BINS] = {\n    %s,\n};" % (name, ", ".join(fl(fn(f)) for f in freqs)))
