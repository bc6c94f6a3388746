package unet

const realData = "../../../shared/data/real/totalsegmentator"
